// Engine: construction, the gallery use cases (create, get, list, delete), operator views,
// and the helpers the other use cases share. Items: items.cc; search: search.cc; start-up:
// recovery.cc.
#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine_rep.h"

namespace iss::engine {

absl::Status CheckTagKeys(const model::Gallery& g, const model::Tags& tags) {
  for (const auto& [k, v] : tags) {
    if (std::find(g.tag_keys.begin(), g.tag_keys.end(), k) == g.tag_keys.end()) {
      return Fail(Reason::kTagUnknown, "(tag `" + k + "` is not one of the instance's tags)");
    }
  }
  return absl::OkStatus();
}

std::string GalleryDetail(const std::string& name, std::string_view what) {
  std::string out = "(instance `" + name + "`";
  if (!what.empty()) out.append(" ").append(what);
  return out + ")";
}

absl::StatusOr<GalleryPtr> Engine::Rep::Find(const std::string& project,
                                             const std::string& name) const {
  GalleryPtr g = registry.Find(project, name);
  if (!g) return Fail(Reason::kGalleryNotFound, GalleryDetail(name));
  return g;
}

absl::StatusOr<GalleryPtr> Engine::Rep::FindUsable(const std::string& project,
                                                   const std::string& name,
                                                   const model::Tags& tags) const {
  ASSIGN_OR_RETURN(GalleryPtr g, Find(project, name));
  if (g->embedder == nullptr) {
    return Fail(Reason::kGalleryAbnormal,
                "(the instance's model `" + g->gallery().model + "` is not installed)");
  }
  RETURN_IF_ERROR(CheckTagKeys(g->gallery(), tags));
  return g;
}

namespace {

// Without a blob source the engine still tells a URL from a plain key, so that a URL is
// refused as "downloads are disabled", not as "nothing to fetch".
bool LooksLikeUrl(std::string_view s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

}  // namespace

bool Engine::Rep::Fetchable(std::string_view locator) const {
  return ports.blobs != nullptr ? ports.blobs->Accepts(locator) : LooksLikeUrl(locator);
}

absl::StatusOr<std::string> Engine::Rep::Fetch(std::string_view locator) const {
  ASSIGN_OR_RETURN(Blob blob, Fetch(locator, /*with_metadata=*/false));
  return std::move(blob.bytes);
}

absl::StatusOr<Blob> Engine::Rep::Fetch(std::string_view locator, bool with_metadata) const {
  if (!Fetchable(locator)) {
    return Fail(Reason::kNoQuery, "(`file` is empty and `path` is not an http(s) URL to download)");
  }
  if (ports.blobs == nullptr) return Fail(Reason::kBlobForbidden, "(downloads are disabled)");
  if (with_metadata) return ports.blobs->FetchWithMetadata(locator);
  ASSIGN_OR_RETURN(std::string bytes, ports.blobs->Fetch(locator));
  return Blob{std::move(bytes), {}, {}};
}

int64_t Engine::Rep::Capacity(const LiveGallery& g) const {
  return std::min(g.gallery().capacity, options.max_items_per_gallery);
}

absl::StatusOr<std::unique_ptr<IndexShard>> Engine::Rep::OpenShard(uint64_t uid,
                                                                   const Embedder* embedder) const {
  // A gallery whose model is missing indexes nothing: a 1-d shard in memory only.
  if (embedder == nullptr) return ports.index->OpenShard(uid, 1, /*persisted=*/false);
  return ports.index->OpenShard(uid, embedder->dim(), /*persisted=*/true);
}

Engine::Engine(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options,
                                                     const EnginePorts& ports) {
  if (ports.catalog == nullptr || ports.index == nullptr || ports.models == nullptr) {
    return Fail(Reason::kInternal, "(the engine needs a catalog, an index factory and models)");
  }
  auto rep = std::make_unique<Rep>();
  rep->options = options;
  rep->ports = ports;
  if (rep->ports.clock == nullptr) rep->ports.clock = Clock::Real();
  RETURN_IF_ERROR(rep->Recover());
  return std::unique_ptr<Engine>(new Engine(std::move(rep)));
}

absl::StatusOr<model::Gallery> Engine::CreateGallery(const std::string& project,
                                                     const model::GallerySpec& spec) {
  Rep& r = *rep_;
  const Embedder* embedder = r.ports.models->Find(spec.model);
  if (embedder == nullptr) return Fail(Reason::kModelUnknown, "(model `" + spec.model + "`)");
  RETURN_IF_ERROR(r.registry.Reserve(project, spec.name, r.options.max_galleries_per_project));
  // The name is reserved: the durable write happens without any lock held.
  auto g = std::make_shared<LiveGallery>();
  GalleryRecord& rec = g->record;
  rec.uid = r.registry.TakeUid();
  model::Gallery& m = rec.gallery;
  m.project_id = project;
  m.name = spec.name;
  m.model = spec.model;
  m.model_display_name = spec.model;
  m.description = spec.description;
  m.capacity = spec.capacity;
  m.tag_keys = spec.tag_keys;
  m.created_ms = r.ports.clock->NowMs();
  m.expires_ms = -1;
  m.state = model::GalleryState::kNormal;
  g->embedder = embedder;
  absl::Status s = r.ports.catalog->CreateGallery(rec);
  if (s.ok()) {
    absl::StatusOr<std::unique_ptr<IndexShard>> shard = r.OpenShard(rec.uid, embedder);
    if (shard.ok()) {
      g->shard = std::move(*shard);
    } else {
      s = shard.status();
      // Leave no trace of a gallery that cannot serve: remove the record just written.
      absl::Status undo = r.ports.catalog->DeleteGallery(rec);
      if (!undo.ok()) {
        spdlog::error("instance {}/{}: index failed and the record could not be removed: {}",
                      project, spec.name, undo.ToString());
      }
    }
  }
  if (!s.ok()) {
    r.registry.Publish(project, spec.name, nullptr);
    return s;
  }
  model::Gallery out = g->gallery();
  r.registry.Publish(project, spec.name, std::move(g));
  return out;
}

absl::StatusOr<model::Gallery> Engine::GetGallery(const std::string& project,
                                                  const std::string& name) {
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->Find(project, name));
  std::shared_lock lock(g->mu);
  model::Gallery out = g->gallery();
  out.item_count = int64_t(g->meta.size());
  return out;
}

absl::StatusOr<std::vector<model::Gallery>> Engine::ListGalleries(const std::string& project) {
  std::vector<model::Gallery> out;
  for (const GalleryPtr& g : rep_->registry.All(project)) {
    std::shared_lock lock(g->mu);
    out.push_back(g->gallery());
    out.back().item_count = int64_t(g->meta.size());
  }
  std::sort(out.begin(), out.end(), [](const model::Gallery& a, const model::Gallery& b) {
    return std::tie(a.project_id, a.name) < std::tie(b.project_id, b.name);
  });
  return out;
}

absl::Status Engine::DeleteGallery(const std::string& project, const std::string& name) {
  Rep& r = *rep_;
  GalleryPtr g = r.registry.BeginDelete(project, name);
  if (g == nullptr) return Fail(Reason::kGalleryNotFound, GalleryDetail(name));
  {
    // Waits for writes in flight; later ones see `deleted` and fail as not found.
    std::unique_lock lock(g->mu);
    if (g->jobs > 0) {
      lock.unlock();
      r.registry.EndDelete(project, name, /*done=*/false);
      return Fail(Reason::kGalleryBusy,
                  GalleryDetail(name, "has an unfinished import or sync job: cancel it first"));
    }
    g->deleted = true;
  }
  absl::Status s = r.ports.catalog->DeleteGallery(g->record);
  if (!s.ok()) {
    {
      std::unique_lock lock(g->mu);
      g->deleted = false;
    }
    r.registry.EndDelete(project, name, /*done=*/false);
    return s;
  }
  r.registry.EndDelete(project, name, /*done=*/true);
  // Blocks this caller only: stop the shard's background work (an unfinished training is
  // abandoned), remove its files, give the catalog's disk space back.
  g->shard->Destroy();
  if (r.ports.snapshots != nullptr) {
    absl::Status removed = r.ports.snapshots->RemoveShard(g->record.uid);
    if (!removed.ok()) {
      spdlog::warn("instance {}/{}: index files not removed: {}", project, name,
                   removed.ToString());
    }
  }
  r.ports.catalog->ReclaimGallery(g->record.uid);
  return absl::OkStatus();
}

absl::StatusOr<model::IndexStats> Engine::GetIndexStats(const std::string& project,
                                                        const std::string& gallery) {
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->Find(project, gallery));
  return g->shard->Stats();
}

model::EngineStats Engine::Stats() {
  model::EngineStats s;
  for (const GalleryPtr& g : rep_->registry.All("")) {
    ++s.galleries;
    {
      std::shared_lock lock(g->mu);
      s.items += int64_t(g->meta.size());
    }
    const model::IndexStats st = g->shard->Stats();
    s.index_ram_bytes += st.ram_bytes;
    s.index_disk_bytes += st.disk_bytes;
  }
  return s;
}

bool Engine::CanFetch(std::string_view locator) const { return rep_->Fetchable(locator); }

absl::StatusOr<Blob> Engine::FetchBlob(std::string_view locator) const {
  return rep_->Fetch(locator, /*with_metadata=*/true);
}

absl::StatusOr<std::optional<BlobStat>> Engine::StatBlob(std::string_view locator) const {
  if (!rep_->Fetchable(locator) || rep_->ports.blobs == nullptr) {
    return std::optional<BlobStat>();
  }
  return rep_->ports.blobs->Stat(locator);
}

absl::Status Engine::HoldGallery(const std::string& project, const std::string& name) {
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->Find(project, name));
  std::unique_lock lock(g->mu);
  if (g->deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(name, "was deleted"));
  ++g->jobs;
  return absl::OkStatus();
}

void Engine::ReleaseGallery(const std::string& project, const std::string& name) {
  GalleryPtr g = rep_->registry.Find(project, name);
  if (g == nullptr) return;
  std::unique_lock lock(g->mu);
  if (g->jobs > 0) --g->jobs;
}

}  // namespace iss::engine
