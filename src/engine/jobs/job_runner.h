// engine/jobs: offline import jobs and bucket sync (watch) jobs. A job fills one gallery
// from an object-storage prefix (listed page by page) or from a manifest of objects, and
// a sync job keeps doing so, one listing pass per interval, adding new and overwritten
// objects and removing deleted ones. Every image's key is its object's locator (its URL),
// unless a manifest entry names another.
//
//   JobRunner jobs(engine, job_store, lister, {});
//   RETURN_IF_ERROR(jobs.Start());  // resumes the jobs that were running
//   ASSIGN_OR_RETURN(Job job, jobs.Create("p1", "shoes", {.prefix = "s3://bucket/shoes/"}));
//   ASSIGN_OR_RETURN(Job now, jobs.Get("p1", job.id));   // progress
//   RETURN_IF_ERROR(jobs.Pause("p1", job.id).status());
//
// A job runs as a small pipeline: the job's driver thread lists (or reads the manifest)
// and skips what is done, `fetch_threads` download, `embed_threads` embed and write
// batches of up to `batch` images with one durable catalog write (Engine::PutItemsEach).
// Durability and idempotence: the job record and one checkpoint per key (JobStore) are
// the truth. A key's checkpoint records the pass that handled it, the outcome (done,
// skipped, failed, removed) and the object's ETag and size, written after its image is
// committed; a restart (or kill -9) re-lists and skips every key the current pass already
// handled, so nothing is imported twice (and an image written just before a crash is only
// written again under the same key). A later pass (a re-run, the next sync poll) skips an
// object whose ETag and size are unchanged and whose image is still in the gallery. One
// object that cannot be fetched or embedded is recorded in the failure report (f/<key>)
// and never fails the job. A job holds its gallery (Engine::HoldGallery) until it ends, so
// the gallery cannot be deleted under it (kGalleryBusy).
//
// Failures: kJobNotFound, kJobState (pause a finished job ...), kJobExists (a second sync
// of a gallery), kBucketEmpty, kPrefixEmpty, and the engine's and the lister's reasons.
// Thread contract: every public method may be called concurrently; control operations
// (Create, Pause, Resume, Cancel, Rerun, Delete, Start, Stop) are serialised by one mutex
// and Pause/Cancel/Stop wait for the job's pipeline to stop. The engine, the store and the
// lister are borrowed and must outlive the runner.
#ifndef ISS_ENGINE_JOBS_JOB_RUNNER_H_
#define ISS_ENGINE_JOBS_JOB_RUNNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/status.h"
#include "engine/engine.h"
#include "engine/ports/blob_source.h"
#include "engine/ports/job_store.h"
#include "model/types.h"

namespace iss::engine {

enum class JobKind { kImport, kSync };
enum class JobState { kRunning, kPaused, kDone, kFailed, kCancelled };

std::string_view JobKindName(JobKind kind);     // "import", "sync"
std::string_view JobStateName(JobState state);  // "running", "paused", "done" ...

struct ManifestEntry {
  std::string locator;  // the object to fetch
  std::string key;      // the image's key in the gallery; empty: the locator
  model::Tags tags;
};

struct JobSpec {
  JobKind kind = JobKind::kImport;
  std::string prefix;                   // an object-storage prefix to list, or
  std::vector<ManifestEntry> manifest;  // the objects to import (imports only)
  model::Tags tags;                     // tags of every image (a manifest entry's win)
  // A listed object's folder (the last folder of its key: "red" for "shoes/red/1.jpg") as
  // the value of this tag key; empty: none.
  std::string folder_tag;
  // Each object's user-defined metadata (x-amz-meta-<name>: value) whose name is one of the
  // gallery's tag keys becomes that tag: over `tags` and the folder tag, under a manifest
  // entry's own tags. Object storage only (http(s) and files carry no metadata).
  bool metadata_tags = false;
  int64_t interval_ms = 60000;  // sync: from the end of one pass to the next
  // sync: the secret a bucket notification must present (Notify); set by Create.
  std::string notify_token;
};

struct JobProgress {
  int64_t pass = 1;  // 1 for the first run; +1 per re-run or sync poll
  int64_t listed = 0, done = 0, skipped = 0, failed = 0, removed = 0;  // this pass
  bool listing_complete = false;
  // The objects this pass considers: a manifest's entries, or a prefix's objects as a
  // lister counting ahead of the import found them; -1 until that count is done.
  int64_t total = -1;
  int64_t pass_started_ms = 0;
  int64_t last_pass_ms = 0;  // when the last complete pass ended; 0: none yet
  double images_per_s = 0;   // images done per second since the job (re)started
  int64_t eta_ms = -1;       // -1: unknown (neither the count nor the listing is complete)
  int64_t lag_ms = -1;       // sync: now - last_pass_ms; -1 before the first pass ends
  std::string error;         // why the job failed (or why the last sync pass did)
};

struct Job {
  std::string id;
  std::string project;
  std::string gallery;
  JobKind kind = JobKind::kImport;
  JobState state = JobState::kRunning;
  std::string prefix;            // empty for a manifest job
  int64_t manifest_entries = 0;  // 0 for a prefix job
  int64_t interval_ms = 0;
  std::string notify_token;  // sync jobs: what Notify() expects
  std::string folder_tag;
  bool metadata_tags = false;
  JobProgress progress;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct JobFailure {
  std::string key;      // the image's key (its path)
  std::string locator;  // the object
  Reason reason = Reason::kInternal;
  std::string message;
};

struct JobRunnerOptions {
  int fetch_threads = 8;          // Default: 8 downloads at once per job
  int embed_threads = 2;          // Default: 2 embedding writers per job
  int batch = 16;                 // Default: up to 16 images per durable write
  int64_t min_interval_ms = 200;  // Default: sync polls at most 5 times a second
};

class JobRunner {
 public:
  JobRunner(Engine* engine, JobStore* store, const ObjectLister* lister,
            const JobRunnerOptions& options, const Clock* clock = Clock::Real());
  ~JobRunner();  // Stop()

  // Resumes every job that was running when the process stopped; paused jobs keep
  // holding their gallery. A job whose gallery is gone fails.
  absl::Status Start();
  // Stops every pipeline; running jobs stay "running" in the store (resumed by Start()).
  void Stop();

  // Checks the gallery, the tags and the source (a prefix is listed once: a missing or
  // refused bucket fails here; an empty one too, for an import), then starts the job.
  // A refused job leaves nothing behind.
  absl::StatusOr<Job> Create(const std::string& project, const std::string& gallery, JobSpec spec);
  absl::StatusOr<Job> Get(const std::string& project, const std::string& id) const;
  // The project's jobs by id.
  absl::StatusOr<std::vector<Job>> List(const std::string& project) const;
  absl::StatusOr<Job> Pause(const std::string& project, const std::string& id);
  absl::StatusOr<Job> Resume(const std::string& project, const std::string& id);
  absl::StatusOr<Job> Cancel(const std::string& project, const std::string& id);
  // A new pass of a finished (done, failed, cancelled) job: unchanged objects are skipped.
  absl::StatusOr<Job> Rerun(const std::string& project, const std::string& id);
  // A bucket notification for a sync job (an object was created or removed): starts its
  // next pass now instead of at the end of the interval. The event itself is not trusted
  // (the pass lists the prefix). kUnauthenticated when `token` is not the job's; OK and
  // nothing happens for a job that is not a running sync job.
  absl::Status Notify(const std::string& project, const std::string& id, const std::string& token);
  // Forgets a finished job and its checkpoints.
  absl::Status Delete(const std::string& project, const std::string& id);
  // The failures of the current pass, in key order, at most `limit`.
  absl::StatusOr<std::vector<JobFailure>> Failures(const std::string& project,
                                                   const std::string& id, size_t limit) const;

  struct Active;

 private:
  absl::StatusOr<JobRecord> Load(const std::string& project, const std::string& id) const;
  Job View(const JobRecord& rec) const;
  absl::Status Launch(const JobRecord& rec);
  // Stops the job's pipeline and forgets it (no state change). REQUIRES: ctl_ held.
  void Halt(const std::string& id, int why);
  void ReapFinished();  // REQUIRES: ctl_ held
  void Drive(Active* a);

  Engine* const engine_;
  JobStore* const store_;
  const ObjectLister* const lister_;
  const JobRunnerOptions options_;
  const Clock* const clock_;
  std::mutex ctl_;         // serialises the control operations
  mutable std::mutex mu_;  // guards active_
  std::map<std::string, std::shared_ptr<Active>> active_;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_JOBS_JOB_RUNNER_H_
