// Engine: the item use cases (put one or a batch, check, remove, set tags).
//
// A put embeds outside every lock, then under the gallery's exclusive lock assigns the
// id and version, writes record + vector to the catalog (durable), and only then updates
// the key map, the tags and the index shard. The catalog write is the commit point: a
// failure before it leaves no trace, nothing after it fails the write.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine.h"
#include "engine/engine_rep.h"

namespace iss::engine {
namespace {

// An item embedded and ready to be written.
struct Prepared {
  const model::NewItem* item = nullptr;
  std::vector<float> vector;
};

absl::Status GalleryFull() { return Fail(Reason::kItemLimit); }

// Embeds every item (fetching its bytes when it has none). Fails on the first item that
// cannot be embedded.
// One item: its bytes (given, or fetched by its key) embedded. `item` must outlive the result.
absl::StatusOr<Prepared> PrepareOne(const Engine::Rep& r, const LiveGallery& g,
                                    const model::NewItem& item) {
  std::string fetched;
  std::string_view bytes;
  if (item.image && !item.image->empty()) {
    bytes = *item.image;
  } else {
    ASSIGN_OR_RETURN(fetched, r.Fetch(item.key));
    bytes = fetched;
  }
  ASSIGN_OR_RETURN(Embedding emb, g.embedder->Embed(bytes, {.purpose = Purpose::kStore}));
  if (int(emb.vector.size()) != g.shard->dim()) {
    return Fail(Reason::kEmbeddingFailed, "(the model returned a vector of the wrong size)");
  }
  return Prepared{&item, std::move(emb.vector)};
}

absl::StatusOr<std::vector<Prepared>> Prepare(const Engine::Rep& r, const LiveGallery& g,
                                              const std::vector<model::NewItem>& items) {
  std::vector<Prepared> out;
  out.reserve(items.size());
  for (const model::NewItem& item : items) {
    ASSIGN_OR_RETURN(Prepared p, PrepareOne(r, g, item));
    out.push_back(std::move(p));
  }
  return out;
}

// Writes the prepared items in one catalog batch and applies them to memory.
// REQUIRES: g.mu held exclusively.
absl::Status Commit(const Engine::Rep& r, LiveGallery& g, std::vector<Prepared>& prepared) {
  const int64_t now = r.ports.clock->NowMs();
  const int64_t capacity = r.Capacity(g);
  CatalogBatch batch;
  // Keys put earlier in this batch (a key given twice: the last one wins, one id).
  std::unordered_map<std::string, uint64_t> batch_ids;
  size_t fresh = 0;
  uint64_t next_id = g.next_id;
  uint64_t next_version = g.next_version;
  for (Prepared& p : prepared) {
    ItemRecord rec;
    rec.key = p.item->key;
    rec.model = g.embedder->vector_model();
    rec.tags = p.item->tags;
    rec.updated_ms = now;
    auto existing = g.id_of.find(rec.key);
    auto earlier = batch_ids.find(rec.key);
    if (existing != g.id_of.end()) {
      rec.id = existing->second;
      rec.created_ms = g.meta.at(rec.id).created_ms;
    } else if (earlier != batch_ids.end()) {
      rec.id = earlier->second;
      rec.created_ms = now;
    } else {
      if (int64_t(g.meta.size() + fresh) >= capacity) return GalleryFull();
      rec.id = next_id++;
      rec.created_ms = now;
      ++fresh;
      batch_ids[rec.key] = rec.id;
    }
    rec.version = next_version++;
    batch.puts.push_back(ItemWrite{std::move(rec), std::move(p.vector)});
  }
  g.next_version = next_version;  // stamps are never reused, even by a failed write
  // The counters go with the batch: after a crash they never hand out an (id, version)
  // pair again, even one of an item deleted since (an index snapshot may still hold it).
  batch.counters = ItemCounters{std::max(g.next_id, next_id), next_version};
  RETURN_IF_ERROR(r.ports.catalog->Apply(g.record.uid, batch));
  // Committed: from here on the write succeeds, and memory follows the catalog. An index
  // append that fails (its disk is full) keeps the vector beside the shard, searched
  // exactly, rather than answering an error for a write that is on disk (which would
  // reappear at the next start) or losing a replaced item until then.
  g.RetryUnindexed();
  for (const ItemWrite& w : batch.puts) {
    if (g.id_of.count(w.record.key)) g.Detach(w.record.id);  // a replacement
    absl::Status indexed = g.IndexVector(w.record.id, w.vector, w.record.version);
    if (!indexed.ok()) {
      spdlog::warn(
          "instance {}/{}: image `{}` committed, its index append failed ({}); "
          "searched exactly until the index takes it",
          g.gallery().project_id, g.gallery().name, w.record.key, indexed.ToString());
    }
    g.AttachMeta(w.record);
  }
  return absl::OkStatus();
}

absl::Status PutAll(Engine::Rep& r, const std::string& project, const std::string& gallery,
                    const std::vector<model::NewItem>& items, const model::Tags& all_tags) {
  ASSIGN_OR_RETURN(GalleryPtr g, r.FindUsable(project, gallery, all_tags));
  {
    // Refuse early (before any download or inference) when the gallery is full.
    std::shared_lock lock(g->mu);
    size_t fresh = 0;
    for (const model::NewItem& item : items) fresh += g->id_of.count(item.key) == 0;
    if (fresh > 0 && int64_t(g->meta.size()) >= r.Capacity(*g)) return GalleryFull();
  }
  ASSIGN_OR_RETURN(std::vector<Prepared> prepared, Prepare(r, *g, items));
  std::unique_lock lock(g->mu);
  if (g->deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
  return Commit(r, *g, prepared);
}

}  // namespace

absl::Status Engine::PutItem(const std::string& project, const std::string& gallery,
                             const model::NewItem& item) {
  return PutAll(*rep_, project, gallery, {item}, item.tags);
}

absl::Status Engine::PutItems(const std::string& project, const std::string& gallery,
                              const std::vector<model::NewItem>& items) {
  if (items.empty()) return absl::OkStatus();
  model::Tags all;
  for (const model::NewItem& item : items) all.insert(item.tags.begin(), item.tags.end());
  return PutAll(*rep_, project, gallery, items, all);
}

absl::StatusOr<std::vector<absl::Status>> Engine::PutItemsEach(
    const std::string& project, const std::string& gallery,
    const std::vector<model::NewItem>& items) {
  Rep& r = *rep_;
  model::Tags all;
  for (const model::NewItem& item : items) all.insert(item.tags.begin(), item.tags.end());
  ASSIGN_OR_RETURN(GalleryPtr g, r.FindUsable(project, gallery, all));
  std::vector<absl::Status> out(items.size());
  std::vector<Prepared> prepared;
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<Prepared> one = PrepareOne(r, *g, items[i]);
    if (!one.ok()) {
      out[i] = one.status();
      continue;
    }
    prepared.push_back(*std::move(one));
  }
  if (prepared.empty()) return out;
  std::unique_lock lock(g->mu);
  if (g->deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
  RETURN_IF_ERROR(Commit(r, *g, prepared));
  return out;
}

absl::StatusOr<bool> Engine::HasItem(const std::string& project, const std::string& gallery,
                                     const std::string& key) {
  // An instance without its model answers every image operation kGalleryAbnormal.
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->FindUsable(project, gallery, {}));
  std::shared_lock lock(g->mu);
  return g->id_of.count(key) > 0;
}

absl::Status Engine::RemoveItem(const std::string& project, const std::string& gallery,
                                const std::string& key) {
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->FindUsable(project, gallery, {}));
  std::unique_lock lock(g->mu);
  if (g->deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
  auto it = g->id_of.find(key);
  if (it == g->id_of.end()) {
    return Fail(Reason::kItemNotFound, "(no image with path `" + key + "`)");
  }
  CatalogBatch batch;
  batch.removals.push_back(ItemRemoval{key, it->second});
  RETURN_IF_ERROR(rep_->ports.catalog->Apply(g->record.uid, batch));
  g->Detach(it->second);
  return absl::OkStatus();
}

absl::Status Engine::SetItemTags(const std::string& project, const std::string& gallery,
                                 const std::string& key, const model::Tags& tags) {
  ASSIGN_OR_RETURN(GalleryPtr g, rep_->FindUsable(project, gallery, tags));
  std::unique_lock lock(g->mu);
  if (g->deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
  auto it = g->id_of.find(key);
  if (it == g->id_of.end()) {
    return Fail(Reason::kItemNotFound, "(no image with path `" + key + "`)");
  }
  ASSIGN_OR_RETURN(std::optional<ItemRecord> stored,
                   rep_->ports.catalog->GetItem(g->record.uid, key));
  if (!stored) return Fail(Reason::kCorrupt, "(record missing)");
  ItemRecord rec = std::move(*stored);
  rec.tags = tags;
  rec.updated_ms = rep_->ports.clock->NowMs();
  CatalogBatch batch;
  batch.puts.push_back(ItemWrite{rec, {}});
  RETURN_IF_ERROR(rep_->ports.catalog->Apply(g->record.uid, batch));
  ItemMeta& m = g->meta[rec.id];
  g->tags.Remove(rec.id, m.tags);
  m.tags = tags;
  g->tags.Add(rec.id, m.tags);
  return absl::OkStatus();
}

}  // namespace iss::engine
