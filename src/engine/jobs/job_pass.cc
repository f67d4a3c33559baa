// engine/jobs: the per-job driver (listing passes, the sync sweep) and the fetch ->
// embed+write pipeline of one pass (JobRunner::Drive; job_runner.h, job_internal.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>

#include "common/status_macros.h"
#include "engine/jobs/job_codec.h"
#include "engine/jobs/job_internal.h"
#include "engine/jobs/job_runner.h"

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

// Object metadata named like one of the gallery's tags becomes that tag (over the job's
// and the folder's), then a manifest entry's own tags are put back on top.
// A value longer than an add allows fails the object (kTagValueTooLong), never echoed.
absl::Status ApplyMetadataTags(const std::vector<std::pair<std::string, std::string>>& metadata,
                               const std::vector<std::string>& tag_keys, Work* w) {
  for (const auto& [name, value] : metadata) {
    if (std::find(tag_keys.begin(), tag_keys.end(), name) == tag_keys.end()) continue;
    const size_t chars = size_t(std::count_if(value.begin(), value.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation byte
    }));
    if (chars > model::kMaxTagValueChars) {
      return Fail(Reason::kTagValueTooLong, "(object metadata `" + name + "` is longer than " +
                                                std::to_string(model::kMaxTagValueChars) +
                                                " characters)");
    }
    w->tags[name] = value;
  }
  for (const auto& [k, v] : w->pinned) w->tags[k] = v;
  return absl::OkStatus();
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
    // The gallery's tag keys: which object metadata names become tags.
    std::vector<std::string> tag_keys;
    if (a->spec.metadata_tags) {
      absl::StatusOr<model::Gallery> g = engine_->GetGallery(a->project, a->gallery);
      if (g.ok()) tag_keys = g->tag_keys;
    }
    auto save = [&](bool force) {
      const int64_t now = clock_->NowMs();
      std::lock_guard lock(a->save_mu);
      if (!force && now - a->saved_ms < 1000) return;
      a->saved_ms = now;
      absl::Status s = store_->Put(a->Record(now));
      if (!s.ok()) spdlog::warn("job {}: progress not saved: {}", a->id, s.ToString());
    };
    // A manifest entry whose object still has the ETag and size an earlier pass imported,
    // and whose image is still there, is skipped without a download.
    auto unchanged = [&](const Work& w) {
      absl::StatusOr<std::optional<BlobStat>> stat = engine_->StatBlob(w.locator);
      if (!stat.ok() || !stat->has_value() || (*stat)->etag != w.prev_etag ||
          (*stat)->size != w.prev_size) {
        return false;
      }
      absl::StatusOr<bool> has = engine_->HasItem(a->project, a->gallery, w.key);
      if (!has.ok() || !*has) return false;
      Work seen = w;
      seen.etag = w.prev_etag;
      seen.size = w.prev_size;
      absl::Status s = store_->PutCheckpoints(a->id, {MarkOf(seen, pass, Outcome::kSkipped)});
      if (!s.ok()) spdlog::warn("job {}: skip mark not written: {}", a->id, s.ToString());
      ++a->skipped;
      return true;
    };
    std::vector<std::thread> workers;
    for (int i = 0; i < std::max(1, options_.fetch_threads); ++i) {
      workers.emplace_back([&] {
        std::vector<Work> got;
        while (fetch_q.PopSome(&got, 1)) {
          Work& w = got[0];
          if (!w.prev_etag.empty() && unchanged(w)) continue;
          absl::StatusOr<Blob> blob;
          for (int attempt = 0; attempt < 3 && a->stop == kRun; ++attempt) {
            blob = engine_->FetchBlob(w.locator);
            if (blob.ok() || !Is(blob.status(), Reason::kBlobUnreachable)) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
          }
          if (a->stop != kRun) break;
          if (blob.ok() && blob->bytes.empty()) {
            blob = Fail(Reason::kImageCorrupt, "(the object is empty)");
          }
          if (!blob.ok()) {
            RecordFailures(ctx, {&w}, {blob.status()});
            continue;
          }
          absl::Status tagged = a->spec.metadata_tags
                                    ? ApplyMetadataTags(blob->metadata, tag_keys, &w)
                                    : absl::OkStatus();
          if (!tagged.ok()) {
            RecordFailures(ctx, {&w}, {tagged});
            continue;
          }
          if (w.etag.empty()) {  // a manifest entry: remember what was read, for re-runs
            w.etag = std::move(blob->etag);
            w.size = int64_t(blob->bytes.size());
          }
          w.bytes = std::move(blob->bytes);
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
      if (w.etag.empty() && mark &&
          (mark->outcome == Outcome::kDone || mark->outcome == Outcome::kSkipped)) {
        w.prev_etag = mark->etag;  // a manifest entry: the fetcher compares with a Stat
        w.prev_size = mark->size;
      }
      return fetch_q.Push(std::move(w));
    };
    // How many objects this pass will consider, for the ETA: a manifest knows; a prefix is
    // counted by a second lister running ahead of the pipeline (which lists only as fast as
    // it imports). One more listing per pass, pages only: a request per 1000 objects.
    std::thread counter;
    if (a->spec.prefix.empty()) {
      a->total = a->manifest_entries;
    } else {
      counter = std::thread([&] {
        int64_t n = 0;
        std::string token;
        do {
          absl::StatusOr<ObjectPage> page = lister_->ListObjects(a->spec.prefix, token);
          if (!page.ok() || a->stop != kRun) return;
          n += int64_t(page->objects.size());
          token = std::move(page->next_token);
        } while (!token.empty());
        a->total = n;
      });
    }
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
          if (a->spec.metadata_tags) w.pinned = std::move(e.tags);
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
    if (counter.joinable()) counter.join();
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
