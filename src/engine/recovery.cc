// Engine start-up: every gallery from the catalog. Per gallery: the item records (no
// vectors), then the shard's snapshot, then only the vectors the snapshot does not reflect
// (by version stamp) are read and replayed, and ids the catalog no longer has are dropped
// from the shard. Legacy records (vector inline, no version) are rewritten in the current
// format once (the migration). Vectors of an earlier revision of the gallery's model (the
// item records it: ItemRecord::model, e.g. `common-search` before its whitening) that the
// model can upgrade (Embedder::Upgrades) are converted, rewritten with a new version and
// the current revision, and re-indexed into a fresh shard (its tiers were trained on the
// old vectors), once; vectors of any other model are skipped.
// Shard files of galleries that no longer exist are removed.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <roaring/roaring64map.hh>
#include <set>

#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine_rep.h"

namespace iss::engine {
namespace {

// Replaying more than this many vectors reads them in one sequential scan.
constexpr uint64_t kScanReplayAbove = 4096;
// Vectors upgraded to a new model revision are rewritten this many to a batch.
constexpr size_t kUpgradeBatch = 256;

absl::Status AttachVector(LiveGallery& g, uint64_t id, uint64_t version,
                          const std::vector<float>& vector) {
  if (int(vector.size()) != g.shard->dim()) {
    spdlog::error("instance {}/{}: image {} has a {}-d vector, the model {}-d; not indexed",
                  g.gallery().project_id, g.gallery().name, id, vector.size(), g.shard->dim());
    return absl::OkStatus();
  }
  return g.shard->Put(id, vector, version);
}

}  // namespace

absl::Status Engine::Rep::Recover() {
  ASSIGN_OR_RETURN(std::vector<GalleryRecord> records, ports.catalog->LoadGalleries());
  ASSIGN_OR_RETURN(uint64_t next_uid, ports.catalog->NextGalleryUid());
  size_t items = 0;
  std::set<uint64_t> uids;
  for (GalleryRecord& rec : records) {
    auto g = std::make_shared<LiveGallery>();
    g->record = std::move(rec);
    g->embedder = ports.models->Find(g->gallery().model);
    if (g->embedder == nullptr) {
      spdlog::error("instance {}/{}: model {} is not installed; instance is ABNORMAL",
                    g->gallery().project_id, g->gallery().name, g->gallery().model);
      g->record.gallery.state = model::GalleryState::kAbnormal;
    }
    ASSIGN_OR_RETURN(g->shard, OpenShard(g->record.uid, g->embedder));
    RETURN_IF_ERROR(RecoverItems(*g));
    items += g->meta.size();
    next_uid = std::max(next_uid, g->record.uid + 1);
    uids.insert(g->record.uid);
    registry.Insert(std::move(g));
  }
  registry.SetNextUid(next_uid);
  if (ports.snapshots != nullptr) {
    absl::StatusOr<std::vector<uint64_t>> shards = ports.snapshots->ListShards();
    if (shards.ok()) {
      for (uint64_t uid : *shards) {
        if (uids.count(uid)) continue;
        spdlog::info("index files of deleted instance {:016x} removed", uid);
        (void)ports.snapshots->RemoveShard(uid);
      }
    }
  }
  spdlog::info("catalog loaded: {} instances, {} images", uids.size(), items);
  return absl::OkStatus();
}

absl::Status Engine::Rep::RecoverItems(LiveGallery& g) {
  const uint64_t uid = g.record.uid;
  const model::Gallery& m = g.gallery();
  std::vector<ItemRecord> legacy;    // migrated below
  std::vector<ItemRecord> upgrades;  // an earlier model revision: converted below
  const std::string current = g.embedder ? g.embedder->vector_model() : std::string();
  Roaring64Map live, missing;
  RETURN_IF_ERROR(ports.catalog->ScanItems(uid, [&](ItemRecord&& item) {
    if (g.embedder == nullptr) return true;
    if (item.model != current && g.embedder->Upgrades(item.model)) {
      g.AttachMeta(item);
      live.add(item.id);
      upgrades.push_back(std::move(item));
      return true;
    }
    if (item.model != current) {
      spdlog::error("instance {}/{}: skipping image `{}` of model {}", m.project_id, m.name,
                    item.key, item.model);
      return true;
    }
    g.AttachMeta(item);
    live.add(item.id);
    if (!item.legacy_vector.empty()) {
      legacy.push_back(std::move(item));
    } else if (!g.shard->HasVersion(item.id, item.version)) {
      missing.add(item.id);
    }
    return true;
  }));
  if (g.embedder == nullptr) return absl::OkStatus();
  // Counters persisted by earlier writes win over what the surviving items imply (the
  // newest items may have been deleted since).
  ASSIGN_OR_RETURN(std::optional<ItemCounters> counters, ports.catalog->GetCounters(uid));
  if (counters) {
    g.next_id = std::max(g.next_id, counters->next_id);
    g.next_version = std::max(g.next_version, counters->next_version);
  }
  if (!upgrades.empty()) {
    // The shard's tiers were trained on the earlier revision's vectors: it starts afresh,
    // so that it trains on the upgraded ones, and every vector is replayed into it.
    g.shard->Destroy();
    ASSIGN_OR_RETURN(g.shard, OpenShard(uid, g.embedder));
    missing = live;
    for (const ItemRecord& r : upgrades) missing.remove(r.id);
    for (const ItemRecord& r : legacy) missing.remove(r.id);
  }
  for (ItemRecord& r : legacy) {
    r.version = g.next_version++;
    std::vector<float> vector = std::move(r.legacy_vector);
    r.legacy_vector.clear();
    CatalogBatch batch;
    batch.puts.push_back(ItemWrite{r, vector, {}});
    batch.counters = ItemCounters{g.next_id, g.next_version};
    RETURN_IF_ERROR(ports.catalog->Apply(uid, batch));
    RETURN_IF_ERROR(AttachVector(g, r.id, r.version, vector));
  }
  for (size_t begin = 0; begin < upgrades.size(); begin += kUpgradeBatch) {
    const size_t end = std::min(upgrades.size(), begin + kUpgradeBatch);
    CatalogBatch batch;
    for (size_t i = begin; i < end; ++i) {
      ItemRecord& r = upgrades[i];
      std::vector<float> old = std::move(r.legacy_vector);
      r.legacy_vector.clear();
      if (old.empty()) {
        ASSIGN_OR_RETURN(std::optional<CatalogStore::StoredVector> v,
                         ports.catalog->GetVector(uid, r.id));
        if (!v) return Fail(Reason::kCorrupt, "(vector record missing for an image)");
        old = std::move(v->vector);
      }
      r.model = current;
      r.version = g.next_version++;
      batch.puts.push_back(ItemWrite{r, g.embedder->Upgrade(old), {}});
    }
    batch.counters = ItemCounters{g.next_id, g.next_version};
    RETURN_IF_ERROR(ports.catalog->Apply(uid, batch));
    for (const ItemWrite& w : batch.puts) {
      RETURN_IF_ERROR(AttachVector(g, w.record.id, w.record.version, w.vector));
    }
  }
  if (!upgrades.empty()) {
    spdlog::info("instance {}/{}: {} vectors upgraded to model {}", m.project_id, m.name,
                 upgrades.size(), current);
  }
  const uint64_t replay = missing.cardinality();
  if (replay > kScanReplayAbove) {  // many: one sequential pass over the vectors
    absl::Status err;
    RETURN_IF_ERROR(
        ports.catalog->ScanVectors(uid, [&](uint64_t id, CatalogStore::StoredVector&& v) {
          if (missing.contains(id)) err = AttachVector(g, id, v.version, v.vector);
          return err.ok();
        }));
    RETURN_IF_ERROR(err);
  } else {
    for (uint64_t id : missing) {
      ASSIGN_OR_RETURN(std::optional<CatalogStore::StoredVector> v,
                       ports.catalog->GetVector(uid, id));
      if (!v) return Fail(Reason::kCorrupt, "(vector record missing for an image)");
      RETURN_IF_ERROR(AttachVector(g, id, v->version, v->vector));
    }
  }
  const size_t dropped = g.shard->RetainOnly(live);
  spdlog::info("instance {}/{}: {} images; index {} ({} replayed, {} dropped)", m.project_id,
               m.name, live.cardinality(),
               g.shard->Stats().restored ? "restored from its snapshot" : "rebuilt",
               replay + legacy.size(), dropped);
  return absl::OkStatus();
}

}  // namespace iss::engine
