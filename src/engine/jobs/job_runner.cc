// engine/jobs: the job runner (job_runner.h): control operations, the per-job driver
// (listing passes, the sync sweep) and the fetch -> embed+write pipeline.
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

namespace iss::engine {

using jobs_internal::FailureMark;
using jobs_internal::KeyMark;
using jobs_internal::Outcome;

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

enum Stop { kRun = 0, kPause = 1, kCancel = 2, kShutdown = 3 };

std::optional<JobState> StateOf(std::string_view name) {
  for (JobState s : {JobState::kRunning, JobState::kPaused, JobState::kDone, JobState::kFailed,
                     JobState::kCancelled}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

bool Finished(JobState s) {
  return s == JobState::kDone || s == JobState::kFailed || s == JobState::kCancelled;
}

// One object on its way through the pipeline.
struct Work {
  std::string key;
  std::string locator;
  std::string etag;
  int64_t size = -1;
  model::Tags tags;
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

struct JobRunner::Active {
  std::string id, project, gallery;
  JobSpec spec;  // without the manifest's entries (read chunk by chunk)
  int64_t manifest_entries = 0;
  int64_t created_ms = 0;
  std::atomic<int> stop{kRun};
  std::atomic<bool> finished{false};
  std::thread driver;

  std::atomic<int64_t> listed{0}, done{0}, skipped{0}, failed{0}, removed{0};
  std::atomic<bool> listing_complete{false};
  std::atomic<int64_t> run_done{0};  // images done since this run started (the rate)
  std::atomic<int64_t> run_started_ms{0};

  std::mutex mu;  // guards the fields below
  std::condition_variable wake;
  std::vector<Channel*> channels;
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
    const double secs = double(std::max<int64_t>(1, now_ms - run_started_ms)) / 1000.0;
    p.images_per_s = double(run_done) / secs;
    if (p.listing_complete && p.images_per_s > 0) {
      const int64_t left = std::max<int64_t>(0, p.listed - p.done - p.skipped - p.failed);
      p.eta_ms = int64_t(double(left) / p.images_per_s * 1000.0);
    } else if (p.listing_complete && p.listed == p.done + p.skipped + p.failed) {
      p.eta_ms = 0;
    }
    return p;
  }

  void ResetCounters() {
    listed = done = skipped = failed = removed = 0;
    listing_complete = false;
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

// --- the driver and the pipeline ---

namespace {

// What a pipeline worker needs, borrowed from the runner for one pass.
struct PassContext {
  JobStore* store;
  JobRunner::Active* job;
  int64_t pass;
};

std::pair<std::string, std::string> MarkOf(const Work& w, int64_t pass, Outcome o) {
  return {"k/" + w.key, jobs_internal::EncodeMark(KeyMark{pass, o, w.etag, w.size})};
}

void RecordFailures(const PassContext& c, const std::vector<const Work*>& works,
                    const std::vector<absl::Status>& why) {
  std::vector<std::pair<std::string, std::string>> marks;
  for (size_t i = 0; i < works.size(); ++i) {
    const Work& w = *works[i];
    marks.push_back(MarkOf(w, c.pass, Outcome::kFailed));
    marks.emplace_back("f/" + w.key,
                       jobs_internal::EncodeFailure(FailureMark{c.pass, ReasonOf(why[i]), w.locator,
                                                                std::string(why[i].message())}));
  }
  absl::Status s = c.store->PutCheckpoints(c.job->id, marks);
  if (!s.ok()) spdlog::warn("job {}: failure report not written: {}", c.job->id, s.ToString());
  c.job->failed += int64_t(works.size());
}

}  // namespace

void JobRunner::Drive(Active* a) {
  for (;;) {
    int64_t pass;
    {
      std::lock_guard lock(a->mu);
      pass = a->pass;
    }
    a->ResetCounters();
    PassContext ctx{store_, a, pass};
    // Fetched bytes wait in embed_q: bounded by the embedders' appetite, not the listing.
    Channel fetch_q(256),
        embed_q(size_t(std::max(8, options_.batch * std::max(1, options_.embed_threads))));
    {
      std::lock_guard lock(a->mu);
      if (a->stop != kRun) break;
      a->channels = {&fetch_q, &embed_q};
    }
    auto save = [&](bool force) {
      const int64_t now = clock_->NowMs();
      std::lock_guard lock(a->save_mu);
      if (!force && now - a->saved_ms < 1000) return;
      a->saved_ms = now;
      absl::Status s = store_->Put(a->Record(now));
      if (!s.ok()) spdlog::warn("job {}: progress not saved: {}", a->id, s.ToString());
    };
    std::vector<std::thread> workers;
    for (int i = 0; i < std::max(1, options_.fetch_threads); ++i) {
      workers.emplace_back([&] {
        std::vector<Work> got;
        while (fetch_q.PopSome(&got, 1)) {
          Work& w = got[0];
          absl::StatusOr<std::string> bytes;
          for (int attempt = 0; attempt < 3 && a->stop == kRun; ++attempt) {
            bytes = engine_->FetchBlob(w.locator);
            if (bytes.ok() || !Is(bytes.status(), Reason::kBlobUnreachable)) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
          }
          if (a->stop != kRun) break;
          if (bytes.ok() && bytes->empty()) {
            bytes = Fail(Reason::kImageCorrupt, "(the object is empty)");
          }
          if (!bytes.ok()) {
            RecordFailures(ctx, {&w}, {bytes.status()});
            continue;
          }
          w.bytes = *std::move(bytes);
          if (!embed_q.Push(std::move(w))) break;
        }
      });
    }
    std::vector<std::thread> embedders;
    for (int i = 0; i < std::max(1, options_.embed_threads); ++i) {
      embedders.emplace_back([&] {
        std::vector<Work> batch;
        while (embed_q.PopSome(&batch, size_t(std::max(1, options_.batch)))) {
          if (a->stop != kRun) break;
          std::vector<model::NewItem> items(batch.size());
          for (size_t j = 0; j < batch.size(); ++j) {
            items[j].key = batch[j].key;
            items[j].image = std::move(batch[j].bytes);
            items[j].tags = batch[j].tags;
          }
          absl::StatusOr<std::vector<absl::Status>> each =
              engine_->PutItemsEach(a->project, a->gallery, items);
          std::vector<const Work*> bad;
          std::vector<absl::Status> why;
          std::vector<std::pair<std::string, std::string>> marks;
          for (size_t j = 0; j < batch.size(); ++j) {
            const absl::Status& s = each.ok() ? (*each)[j] : each.status();
            if (s.ok()) {
              marks.push_back(MarkOf(batch[j], pass, Outcome::kDone));
            } else {
              bad.push_back(&batch[j]);
              why.push_back(s);
            }
          }
          absl::Status s = store_->PutCheckpoints(a->id, marks);
          if (!s.ok()) spdlog::warn("job {}: marks not written: {}", a->id, s.ToString());
          a->done += int64_t(marks.size());
          a->run_done += int64_t(marks.size());
          if (!bad.empty()) RecordFailures(ctx, bad, why);
          save(false);
        }
      });
    }

    // List (or read the manifest) and send on what this pass has not handled yet.
    absl::Status listing;
    std::vector<std::pair<std::string, std::string>> skips;
    auto flush_skips = [&] {
      absl::Status s = store_->PutCheckpoints(a->id, skips);
      if (!s.ok()) spdlog::warn("job {}: skip marks not written: {}", a->id, s.ToString());
      skips.clear();
    };
    auto consider = [&](Work w) -> bool {
      ++a->listed;
      absl::StatusOr<std::optional<std::string>> raw = store_->GetCheckpoint(a->id, "k/" + w.key);
      std::optional<KeyMark> mark;
      if (raw.ok() && raw->has_value()) mark = jobs_internal::DecodeMark(**raw);
      if (mark && mark->pass == pass && mark->outcome != Outcome::kRemoved) {
        // Handled by this pass before a restart or a pause.
        if (mark->outcome == Outcome::kDone) ++a->done;
        if (mark->outcome == Outcome::kSkipped) ++a->skipped;
        if (mark->outcome == Outcome::kFailed) ++a->failed;
        return true;
      }
      if (mark && (mark->outcome == Outcome::kDone || mark->outcome == Outcome::kSkipped) &&
          !w.etag.empty() && mark->etag == w.etag && mark->size == w.size) {
        absl::StatusOr<bool> has = engine_->HasItem(a->project, a->gallery, w.key);
        if (has.ok() && *has) {
          ++a->skipped;
          skips.push_back(MarkOf(w, pass, Outcome::kSkipped));
          if (skips.size() >= 500) flush_skips();
          return true;
        }
      }
      return fetch_q.Push(std::move(w));
    };
    if (!a->spec.prefix.empty()) {
      std::string token;
      bool more = true;
      while (more && a->stop == kRun) {
        absl::StatusOr<ObjectPage> page;
        for (int attempt = 0; attempt < 4 && a->stop == kRun; ++attempt) {
          page = lister_->ListObjects(a->spec.prefix, token);
          if (page.ok() || !Is(page.status(), Reason::kBlobUnreachable)) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(500 << attempt));
        }
        if (a->stop != kRun) break;
        if (!page.ok()) {
          listing = page.status();
          break;
        }
        for (ListedObject& o : page->objects) {
          Work w;
          w.key = o.locator;
          w.locator = std::move(o.locator);
          w.etag = std::move(o.etag);
          w.size = o.size;
          w.tags = a->spec.tags;
          if (!a->spec.folder_tag.empty()) {
            const size_t slash = o.key.rfind('/');
            if (slash != std::string::npos && slash > 0) {
              const size_t from = o.key.rfind('/', slash - 1);
              const std::string folder =
                  o.key.substr(from == std::string::npos ? 0 : from + 1,
                               slash - (from == std::string::npos ? 0 : from + 1));
              if (!folder.empty()) w.tags[a->spec.folder_tag] = folder;
            }
          }
          if (!consider(std::move(w))) break;
        }
        token = std::move(page->next_token);
        more = !token.empty();
      }
    } else {
      const size_t chunks =
          size_t((a->manifest_entries + int64_t(jobs_internal::kManifestChunk) - 1) /
                 int64_t(jobs_internal::kManifestChunk));
      for (size_t i = 0; i < chunks && a->stop == kRun && listing.ok(); ++i) {
        absl::StatusOr<std::optional<std::string>> raw =
            store_->GetCheckpoint(a->id, jobs_internal::ManifestChunkName(i));
        absl::StatusOr<std::vector<ManifestEntry>> entries =
            !raw.ok()           ? absl::StatusOr<std::vector<ManifestEntry>>(raw.status())
            : !raw->has_value() ? absl::StatusOr<std::vector<ManifestEntry>>(
                                      Fail(Reason::kCorrupt, "(a manifest chunk is missing)"))
                                : jobs_internal::DecodeManifest(**raw);
        if (!entries.ok()) {
          listing = entries.status();
          break;
        }
        for (ManifestEntry& e : *entries) {
          Work w;
          w.key = e.key.empty() ? e.locator : e.key;
          w.locator = std::move(e.locator);
          w.tags = a->spec.tags;
          for (auto& [k, v] : e.tags) w.tags[k] = v;
          if (!consider(std::move(w))) break;
        }
      }
    }
    flush_skips();
    if (a->stop == kRun && listing.ok()) a->listing_complete = true;
    fetch_q.Close();
    for (std::thread& t : workers) t.join();
    embed_q.Close();
    for (std::thread& t : embedders) t.join();
    {
      std::lock_guard lock(a->mu);
      a->channels.clear();
    }
    if (a->stop != kRun) {
      save(true);  // the counters as they stand; the controller writes the state
      break;
    }

    if (listing.ok() && a->spec.kind == JobKind::kSync) {
      // Keys imported by an earlier pass and not listed by this one: deleted objects.
      std::vector<std::string> gone;
      absl::Status scan =
          store_->ScanCheckpoints(a->id, "k/", [&](std::string_view name, std::string_view value) {
            std::optional<KeyMark> m = jobs_internal::DecodeMark(value);
            if (m && m->pass < pass && m->outcome != Outcome::kRemoved) {
              gone.emplace_back(name.substr(2));
            }
            return true;
          });
      if (!scan.ok()) listing = scan;
      std::vector<std::pair<std::string, std::string>> marks;
      for (const std::string& key : gone) {
        absl::Status r = engine_->RemoveItem(a->project, a->gallery, key);
        if (!r.ok() && !Is(r, Reason::kItemNotFound)) {
          spdlog::warn("job {}: `{}` not removed: {}", a->id, key, r.ToString());
          continue;
        }
        marks.emplace_back("k/" + key,
                           jobs_internal::EncodeMark(KeyMark{pass, Outcome::kRemoved, "", -1}));
        ++a->removed;
      }
      absl::Status s = store_->PutCheckpoints(a->id, marks);
      if (!s.ok()) spdlog::warn("job {}: removal marks not written: {}", a->id, s.ToString());
    }

    const int64_t now = clock_->NowMs();
    bool end = false;
    {
      std::lock_guard lock(a->mu);
      if (listing.ok()) {
        a->last_pass_ms = now;
        a->error.clear();
      } else {
        a->error =
            std::string(ReasonName(ReasonOf(listing))) + ": " + std::string(listing.message());
      }
      if (a->spec.kind == JobKind::kImport) {
        a->state = listing.ok() ? JobState::kDone : JobState::kFailed;
        end = true;
      }
    }
    save(true);
    if (end) {
      engine_->ReleaseGallery(a->project, a->gallery);
      spdlog::info("job {} ({}/{}): {}: {} done, {} skipped, {} failed of {} listed", a->id,
                   a->project, a->gallery, listing.ok() ? "done" : "failed", a->done.load(),
                   a->skipped.load(), a->failed.load(), a->listed.load());
      break;
    }
    // A sync job: the next pass after the interval (or at once when stopped).
    {
      std::unique_lock lock(a->mu);
      a->wake.wait_for(lock, std::chrono::milliseconds(a->spec.interval_ms),
                       [&] { return a->stop != kRun || a->poked; });
      if (a->stop != kRun) break;
      a->poked = false;
      ++a->pass;
      a->pass_started_ms = clock_->NowMs();
    }
    a->run_started_ms = clock_->NowMs();
    a->run_done = 0;
  }
  a->finished = true;
}

}  // namespace iss::engine
