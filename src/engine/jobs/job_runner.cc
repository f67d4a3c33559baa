// engine/jobs: the job runner (job_runner.h): start-up, the control operations (create,
// pause, resume, cancel, rerun, notify, delete, failures). The per-job driver and the
// pipeline are in job_pass.cc; what both share in job_internal.h.
#include "engine/jobs/job_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <random>
#include <thread>

#include "common/status_macros.h"
#include "engine/jobs/job_codec.h"
#include "engine/jobs/job_internal.h"

namespace iss::engine {

using jobs_internal::Channel;
using jobs_internal::FailureMark;
using jobs_internal::Finished;
using jobs_internal::kCancel;
using jobs_internal::KeyMark;
using jobs_internal::kPause;
using jobs_internal::kRun;
using jobs_internal::kShutdown;
using jobs_internal::Outcome;
using jobs_internal::StateOf;
using jobs_internal::Work;

std::string_view JobKindName(JobKind kind) { return kind == JobKind::kSync ? "sync" : "import"; }

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return "running";
    case JobState::kPaused:
      return "paused";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "failed";
}

namespace {

std::string NewJobId(int64_t now_ms) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t r;
  {
    std::lock_guard lock(mu);
    r = rng();
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "job-%011llx-%06llx", static_cast<unsigned long long>(now_ms),
                static_cast<unsigned long long>(r & 0xffffff));
  return buf;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    const unsigned v = rd() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 15];
  }
  return out;
}

// Compares without an early exit (the token is a credential).
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

JobRunner::JobRunner(Engine* engine, JobStore* store, const ObjectLister* lister,
                     const JobRunnerOptions& options, const Clock* clock)
    : engine_(engine), store_(store), lister_(lister), options_(options), clock_(clock) {}

JobRunner::~JobRunner() { Stop(); }

absl::StatusOr<JobRecord> JobRunner::Load(const std::string& project, const std::string& id) const {
  if (id.empty() || id.find('/') != std::string::npos) {
    return Fail(Reason::kJobNotFound, "(no job `" + id + "`)");
  }
  ASSIGN_OR_RETURN(std::optional<JobRecord> rec, store_->Get(id));
  if (!rec || rec->project_id != project) {
    return Fail(Reason::kJobNotFound, "(no job `" + id + "` in this project)");
  }
  return *std::move(rec);
}

Job JobRunner::View(const JobRecord& rec) const {
  Job j;
  j.id = rec.id;
  j.project = rec.project_id;
  j.gallery = rec.gallery;
  j.state = StateOf(rec.state).value_or(JobState::kFailed);
  absl::StatusOr<JobSpec> spec = jobs_internal::DecodeSpec(rec.spec, &j.manifest_entries);
  if (spec.ok()) {
    j.kind = spec->kind;
    j.prefix = spec->prefix;
    j.interval_ms = spec->kind == JobKind::kSync ? spec->interval_ms : 0;
    j.notify_token = spec->notify_token;
    j.folder_tag = spec->folder_tag;
    j.metadata_tags = spec->metadata_tags;
  }
  j.progress = jobs_internal::DecodeProgress(rec.progress);
  j.created_ms = rec.created_ms;
  j.updated_ms = rec.updated_ms;
  const int64_t now = clock_->NowMs();
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(rec.id);
    if (it != active_.end() && !it->second->finished) {
      j.progress = it->second->Progress(now);
      j.updated_ms = now;
    }
  }
  if (j.kind == JobKind::kSync && j.progress.last_pass_ms > 0) {
    j.progress.lag_ms = now - j.progress.last_pass_ms;
  }
  return j;
}

absl::Status JobRunner::Start() {
  std::lock_guard ctl(ctl_);
  ASSIGN_OR_RETURN(std::vector<JobRecord> all, store_->List(""));
  // One job that cannot resume fails alone (recorded, logged): never the server's start.
  auto fail = [&](JobRecord& rec, const std::string& why) {
    spdlog::error("job {} ({}/{}): cannot resume: {}", rec.id, rec.project_id, rec.gallery, why);
    JobProgress p = jobs_internal::DecodeProgress(rec.progress);
    p.error = why;
    rec.progress = jobs_internal::EncodeProgress(p);
    rec.state = std::string(JobStateName(JobState::kFailed));
    rec.updated_ms = clock_->NowMs();
    absl::Status s = store_->Put(rec);
    if (!s.ok()) spdlog::error("job {}: state not saved: {}", rec.id, s.ToString());
  };
  for (JobRecord& rec : all) {
    const std::optional<JobState> state = StateOf(rec.state);
    if (!state || Finished(*state)) continue;
    absl::Status held = engine_->HoldGallery(rec.project_id, rec.gallery);
    if (!held.ok()) {
      fail(rec, "the instance is gone: " + std::string(held.message()));
      continue;
    }
    if (*state == JobState::kRunning) {
      spdlog::info("job {} ({}/{}): resuming", rec.id, rec.project_id, rec.gallery);
      absl::Status launched = Launch(rec);
      if (!launched.ok()) {
        engine_->ReleaseGallery(rec.project_id, rec.gallery);
        fail(rec, launched.ToString());
      }
    }
  }
  return absl::OkStatus();
}

void JobRunner::Stop() {
  std::lock_guard ctl(ctl_);
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, a] : active_) ids.push_back(id);
  }
  for (const std::string& id : ids) Halt(id, kShutdown);
}

absl::Status JobRunner::Launch(const JobRecord& rec) {
  auto a = std::make_shared<Active>();
  a->id = rec.id;
  a->project = rec.project_id;
  a->gallery = rec.gallery;
  ASSIGN_OR_RETURN(a->spec, jobs_internal::DecodeSpec(rec.spec, &a->manifest_entries));
  a->created_ms = rec.created_ms;
  const JobProgress p = jobs_internal::DecodeProgress(rec.progress);
  a->pass = p.pass;
  a->last_pass_ms = p.last_pass_ms;
  a->pass_started_ms = p.pass_started_ms;
  a->run_started_ms = clock_->NowMs();
  a->state = JobState::kRunning;
  {
    std::lock_guard lock(mu_);
    active_[rec.id] = a;
  }
  Active* raw = a.get();
  a->driver = std::thread([this, raw] { Drive(raw); });
  return absl::OkStatus();
}

void JobRunner::Halt(const std::string& id, int why) {
  std::shared_ptr<Active> a;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) return;
    a = it->second;
  }
  a->stop = why;
  {
    std::lock_guard lock(a->mu);
    for (Channel* c : a->channels) c->Abort();
    a->wake.notify_all();
  }
  if (a->driver.joinable()) a->driver.join();
  std::lock_guard lock(mu_);
  active_.erase(id);
}

void JobRunner::ReapFinished() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, a] : active_) {
      if (a->finished) ids.push_back(id);
    }
  }
  for (const std::string& id : ids) Halt(id, kShutdown);
}

absl::StatusOr<Job> JobRunner::Create(const std::string& project, const std::string& gallery,
                                      JobSpec spec) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(model::Gallery g, engine_->GetGallery(project, gallery));
  model::Tags all = spec.tags;
  if (!spec.folder_tag.empty()) all[spec.folder_tag] = "";
  for (const ManifestEntry& e : spec.manifest) all.insert(e.tags.begin(), e.tags.end());
  for (const auto& [k, v] : all) {
    if (std::find(g.tag_keys.begin(), g.tag_keys.end(), k) == g.tag_keys.end()) {
      return Fail(Reason::kTagUnknown, "(tag `" + k + "` is not one of the instance's tags)");
    }
  }
  if (spec.prefix.empty() == spec.manifest.empty()) {
    return Fail(Reason::kInvalidArgument, "(give either a prefix to list or a manifest)");
  }
  if (spec.kind == JobKind::kSync) {
    if (spec.prefix.empty()) return Fail(Reason::kInvalidArgument, "(a sync job needs a prefix)");
    ASSIGN_OR_RETURN(std::vector<JobRecord> mine, store_->List(project));
    for (const JobRecord& r : mine) {
      const std::optional<JobState> st = StateOf(r.state);
      if (r.gallery == gallery && r.kind == "sync" && st && !Finished(*st)) {
        return Fail(Reason::kJobExists, "(job `" + r.id + "` already syncs this instance)");
      }
    }
    spec.interval_ms = std::max(spec.interval_ms, options_.min_interval_ms);
    spec.notify_token = RandomHex(16);
  }
  if (!spec.prefix.empty()) {
    if (lister_ == nullptr) {
      return Fail(Reason::kBlobClient, "(no object storage is configured: storage profiles)");
    }
    ASSIGN_OR_RETURN(ObjectPage first, lister_->ListObjects(spec.prefix, ""));
    if (spec.kind == JobKind::kImport && first.objects.empty() && first.next_token.empty()) {
      ASSIGN_OR_RETURN(std::string root, lister_->LocatorOf(spec.prefix, ""));
      if (Trimmed(root) == Trimmed(spec.prefix)) {
        return Fail(Reason::kBucketEmpty, "(`" + spec.prefix + "` holds no object)");
      }
      return Fail(Reason::kPrefixEmpty, "(no object under `" + spec.prefix + "`)");
    }
  }
  for (size_t i = 0; i < spec.manifest.size(); ++i) {
    if (!engine_->CanFetch(spec.manifest[i].locator)) {
      return Fail(Reason::kNoQuery, "(manifest entry " + std::to_string(i + 1) + ": `" +
                                        spec.manifest[i].locator + "` cannot be downloaded)");
    }
  }
  const int64_t now = clock_->NowMs();
  JobRecord rec;
  rec.id = NewJobId(now);
  rec.project_id = project;
  rec.gallery = gallery;
  rec.kind = std::string(JobKindName(spec.kind));
  rec.state = std::string(JobStateName(JobState::kRunning));
  rec.spec = jobs_internal::EncodeSpec(spec, int64_t(spec.manifest.size()));
  JobProgress p;
  p.pass_started_ms = now;
  rec.progress = jobs_internal::EncodeProgress(p);
  rec.created_ms = rec.updated_ms = now;
  RETURN_IF_ERROR(engine_->HoldGallery(project, gallery));
  absl::Status s;
  std::vector<std::pair<std::string, std::string>> chunks;
  for (size_t at = 0; at < spec.manifest.size(); at += jobs_internal::kManifestChunk) {
    const size_t n = std::min(jobs_internal::kManifestChunk, spec.manifest.size() - at);
    chunks.emplace_back(jobs_internal::ManifestChunkName(at / jobs_internal::kManifestChunk),
                        jobs_internal::EncodeManifest(&spec.manifest[at], n));
  }
  s = store_->PutCheckpoints(rec.id, chunks);
  if (s.ok()) s = store_->Put(rec);
  if (s.ok()) s = Launch(rec);
  if (!s.ok()) {
    store_->Delete(rec.id).IgnoreError();
    engine_->ReleaseGallery(project, gallery);
    return s;
  }
  spdlog::info("job {} ({}/{}): created, {} {}", rec.id, project, gallery, rec.kind,
               spec.prefix.empty() ? std::to_string(spec.manifest.size()) + " manifest entries"
                                   : spec.prefix);
  return View(rec);
}

absl::StatusOr<Job> JobRunner::Get(const std::string& project, const std::string& id) const {
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  return View(rec);
}

absl::StatusOr<std::vector<Job>> JobRunner::List(const std::string& project) const {
  ASSIGN_OR_RETURN(std::vector<JobRecord> all, store_->List(project));
  std::vector<Job> out;
  for (const JobRecord& rec : all) out.push_back(View(rec));
  return out;
}

absl::StatusOr<Job> JobRunner::Pause(const std::string& project, const std::string& id) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  if (rec.state != JobStateName(JobState::kRunning)) {
    return Fail(Reason::kJobState, "(job `" + id + "` is " + rec.state + ", not running)");
  }
  Halt(id, kPause);
  ASSIGN_OR_RETURN(rec, Load(project, id));  // the driver's last write
  if (rec.state == JobStateName(JobState::kRunning)) {
    rec.state = std::string(JobStateName(JobState::kPaused));
    rec.updated_ms = clock_->NowMs();
    RETURN_IF_ERROR(store_->Put(rec));
  }
  return View(rec);
}

absl::StatusOr<Job> JobRunner::Resume(const std::string& project, const std::string& id) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  if (rec.state != JobStateName(JobState::kPaused)) {
    return Fail(Reason::kJobState, "(job `" + id + "` is " + rec.state + ", not paused)");
  }
  rec.state = std::string(JobStateName(JobState::kRunning));
  rec.updated_ms = clock_->NowMs();
  RETURN_IF_ERROR(store_->Put(rec));
  RETURN_IF_ERROR(Launch(rec));
  return View(rec);
}

absl::StatusOr<Job> JobRunner::Cancel(const std::string& project, const std::string& id) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  const std::optional<JobState> st = StateOf(rec.state);
  if (!st || Finished(*st)) {
    return Fail(Reason::kJobState, "(job `" + id + "` is " + rec.state + " already)");
  }
  Halt(id, kCancel);
  ASSIGN_OR_RETURN(rec, Load(project, id));
  const std::optional<JobState> now = StateOf(rec.state);
  if (now && !Finished(*now)) {
    rec.state = std::string(JobStateName(JobState::kCancelled));
    rec.updated_ms = clock_->NowMs();
    RETURN_IF_ERROR(store_->Put(rec));
    engine_->ReleaseGallery(rec.project_id, rec.gallery);
  }
  return View(rec);
}

absl::StatusOr<Job> JobRunner::Rerun(const std::string& project, const std::string& id) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  const std::optional<JobState> st = StateOf(rec.state);
  if (!st || !Finished(*st)) {
    return Fail(Reason::kJobState, "(job `" + id + "` is " + rec.state + ": not finished)");
  }
  RETURN_IF_ERROR(engine_->HoldGallery(rec.project_id, rec.gallery));
  const JobProgress old = jobs_internal::DecodeProgress(rec.progress);
  JobProgress p;
  p.pass = old.pass + 1;
  p.last_pass_ms = old.last_pass_ms;
  p.pass_started_ms = clock_->NowMs();
  rec.progress = jobs_internal::EncodeProgress(p);
  rec.state = std::string(JobStateName(JobState::kRunning));
  rec.updated_ms = clock_->NowMs();
  absl::Status s = store_->Put(rec);
  if (s.ok()) s = Launch(rec);
  if (!s.ok()) {
    engine_->ReleaseGallery(rec.project_id, rec.gallery);
    return s;
  }
  return View(rec);
}

absl::Status JobRunner::Notify(const std::string& project, const std::string& id,
                               const std::string& token) {
  absl::StatusOr<JobRecord> rec = Load(project, id);
  int64_t unused = 0;
  absl::StatusOr<JobSpec> spec = rec.ok() ? jobs_internal::DecodeSpec(rec->spec, &unused)
                                          : absl::StatusOr<JobSpec>(rec.status());
  // A missing job and a wrong token answer alike: the endpoint reveals nothing.
  if (!spec.ok() || !SameSecret(spec->notify_token, token)) {
    return Fail(Reason::kUnauthenticated, "(not a notification endpoint of this server)");
  }
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end() || it->second->finished) return absl::OkStatus();
  std::lock_guard alock(it->second->mu);
  it->second->poked = true;
  it->second->wake.notify_all();
  return absl::OkStatus();
}

absl::Status JobRunner::Delete(const std::string& project, const std::string& id) {
  std::lock_guard ctl(ctl_);
  ReapFinished();
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  const std::optional<JobState> st = StateOf(rec.state);
  if (st && !Finished(*st)) {
    return Fail(Reason::kJobState, "(job `" + id + "` is " + rec.state + ": cancel it first)");
  }
  return store_->Delete(id);
}

absl::StatusOr<std::vector<JobFailure>> JobRunner::Failures(const std::string& project,
                                                            const std::string& id,
                                                            size_t limit) const {
  ASSIGN_OR_RETURN(JobRecord rec, Load(project, id));
  int64_t pass = jobs_internal::DecodeProgress(rec.progress).pass;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) {
      std::lock_guard alock(it->second->mu);
      pass = it->second->pass;
    }
  }
  std::vector<JobFailure> out;
  RETURN_IF_ERROR(
      store_->ScanCheckpoints(id, "f/", [&](std::string_view name, std::string_view value) {
        std::optional<FailureMark> f = jobs_internal::DecodeFailure(value);
        if (f && f->pass == pass) {
          out.push_back(JobFailure{std::string(name.substr(2)), f->locator, f->reason, f->message});
        }
        return out.size() < limit;
      }));
  return out;
}

}  // namespace iss::engine
