// engine/jobs, internal: what the runner's control side (job_runner.cc) and its per-job
// driver and pipeline (job_pass.cc) share: the stop codes, a job's in-memory state
// (JobRunner::Active) and the pipeline's work items and bounded channel.
// Thread contract: Active's fields are guarded by its `mu` unless marked atomic; Channel is
// thread-safe.
#ifndef ISS_ENGINE_JOBS_JOB_INTERNAL_H_
#define ISS_ENGINE_JOBS_JOB_INTERNAL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/jobs/job_codec.h"
#include "engine/jobs/job_runner.h"

namespace iss::engine {
namespace jobs_internal {

enum Stop { kRun = 0, kPause = 1, kCancel = 2, kShutdown = 3 };

inline std::optional<JobState> StateOf(std::string_view name) {
  for (JobState s : {JobState::kRunning, JobState::kPaused, JobState::kDone, JobState::kFailed,
                     JobState::kCancelled}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

inline bool Finished(JobState s) {
  return s == JobState::kDone || s == JobState::kFailed || s == JobState::kCancelled;
}

// One object on its way through the pipeline.
struct Work {
  std::string key;
  std::string locator;
  std::string etag;
  int64_t size = -1;
  model::Tags tags;
  model::Tags pinned;  // a manifest entry's own tags: object metadata does not override them
  // A manifest entry done by an earlier pass: its object's ETag and size then. The fetcher
  // skips it when a Stat still shows them and the image is still in the gallery.
  std::string prev_etag;
  int64_t prev_size = -1;
  std::string bytes;
};

// A bounded queue between pipeline stages. Close(): producers are done, consumers drain
// what is left. Abort(): everyone stops at once, what is queued is dropped.
class Channel {
 public:
  explicit Channel(size_t capacity) : capacity_(capacity) {}
  bool Push(Work w) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(w));
    ready_.notify_one();
    return true;
  }
  // Up to `max` items (at least one); false when closed and empty, or aborted.
  bool PopSome(std::vector<Work>* out, size_t max) {
    out->clear();
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return false;
    while (!items_.empty() && out->size() < max) {
      out->push_back(std::move(items_.front()));
      items_.pop_front();
    }
    room_.notify_all();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    ready_.notify_all();
  }
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    items_.clear();
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<Work> items_;
  bool closed_ = false;
  bool aborted_ = false;
};

}  // namespace jobs_internal

struct JobRunner::Active {
  std::string id, project, gallery;
  JobSpec spec;  // without the manifest's entries (read chunk by chunk)
  int64_t manifest_entries = 0;
  int64_t created_ms = 0;
  std::atomic<int> stop{jobs_internal::kRun};
  std::atomic<bool> finished{false};
  std::thread driver;

  std::atomic<int64_t> listed{0}, done{0}, skipped{0}, failed{0}, removed{0};
  std::atomic<bool> listing_complete{false};
  std::atomic<int64_t> total{-1};    // JobProgress::total of the current pass
  std::atomic<int64_t> run_done{0};  // images done since this run started (the rate)
  std::atomic<int64_t> run_started_ms{0};

  std::mutex mu;  // guards the fields below
  std::condition_variable wake;
  std::vector<jobs_internal::Channel*> channels;
  bool poked = false;  // a bucket notification asked for a pass now
  JobState state = JobState::kRunning;
  int64_t pass = 1;
  int64_t pass_started_ms = 0;
  int64_t last_pass_ms = 0;
  std::string error;

  std::mutex save_mu;  // one record write at a time
  int64_t saved_ms = 0;

  JobProgress Progress(int64_t now_ms) {
    JobProgress p;
    {
      std::lock_guard lock(mu);
      p.pass = pass;
      p.pass_started_ms = pass_started_ms;
      p.last_pass_ms = last_pass_ms;
      p.error = error;
    }
    p.listed = listed;
    p.done = done;
    p.skipped = skipped;
    p.failed = failed;
    p.removed = removed;
    p.listing_complete = listing_complete;
    p.total = p.listing_complete ? p.listed : int64_t(total);
    const double secs = double(std::max<int64_t>(1, now_ms - run_started_ms)) / 1000.0;
    p.images_per_s = double(run_done) / secs;
    if (p.total >= 0) {
      const int64_t left = std::max<int64_t>(0, p.total - p.done - p.skipped - p.failed);
      if (left == 0) {
        p.eta_ms = 0;
      } else if (p.images_per_s > 0) {
        p.eta_ms = int64_t(double(left) / p.images_per_s * 1000.0);
      }
    }
    return p;
  }

  void ResetCounters() {
    listed = done = skipped = failed = removed = 0;
    listing_complete = false;
    total = -1;
  }

  JobRecord Record(int64_t now_ms) {
    JobRecord rec;
    rec.id = id;
    rec.project_id = project;
    rec.gallery = gallery;
    rec.kind = std::string(JobKindName(spec.kind));
    {
      std::lock_guard lock(mu);
      rec.state = std::string(JobStateName(state));
    }
    rec.spec = jobs_internal::EncodeSpec(spec, manifest_entries);
    rec.progress = jobs_internal::EncodeProgress(Progress(now_ms));
    rec.created_ms = created_ms;
    rec.updated_ms = now_ms;
    return rec;
  }
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_JOBS_JOB_INTERNAL_H_
