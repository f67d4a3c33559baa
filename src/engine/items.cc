// Engine: the item use cases (put one or a batch, check, remove, set tags).
//
// A put embeds outside every lock, then joins the gallery's commit queue: the put at its
// front (the leader) takes every put waiting behind it (up to kMaxGroupItems items), and
// under the writer lock with the gallery's lock held shared (searches go on) assigns ids
// and versions and writes all their records + vectors in one synced catalog batch (one
// fsync for the group: group commit); then, under the exclusive lock, the key map, the
// tags and the index shard follow. The catalog write is the commit point: a failure before
// it leaves no trace, nothing after it fails the write. A put that would overfill the
// gallery fails alone; a failed batch fails every put in it, none of which was written.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine.h"
#include "engine/engine_rep.h"

namespace iss::engine {

// An item embedded and ready to be written.
struct Prepared {
  const model::NewItem* item = nullptr;
  std::vector<float> vector;
  std::string local_features;  // Embedding::local_features, stored with the vector
};

struct PendingPut {
  std::vector<Prepared>* prepared = nullptr;
  absl::Status status;
  bool done = false;  // guarded by the gallery's commit_mu
  std::condition_variable cv;
};

namespace {

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
  return Prepared{&item, std::move(emb.vector), std::move(emb.local_features)};
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

// Assigns ids and versions to the prepared items and writes them in one synced catalog
// batch; the batch (vectors moved into it) for Follow(). REQUIRES: g.write_mu held, g.mu
// held (shared is enough: only writers, who hold write_mu, change what this reads).
absl::StatusOr<CatalogBatch> Write(const Engine::Rep& r, LiveGallery& g,
                                   std::vector<Prepared>& prepared) {
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
    batch.puts.push_back(
        ItemWrite{std::move(rec), std::move(p.vector), std::move(p.local_features)});
  }
  // Stamps are never reused, even by a failed write. Only writers (write_mu) read it.
  g.next_version = next_version;
  // The counters go with the batch: after a crash they never hand out an (id, version)
  // pair again, even one of an item deleted since (an index snapshot may still hold it).
  batch.counters = ItemCounters{std::max(g.next_id, next_id), next_version};
  RETURN_IF_ERROR(r.ports.catalog->Apply(g.record.uid, batch));
  return batch;
}

// Committed: memory follows the catalog, and nothing fails the write any more. An index
// append that fails (its disk is full) keeps the vector beside the shard, searched exactly,
// rather than answering an error for a write that is on disk (which would reappear at the
// next start) or losing a replaced item until then. REQUIRES: g.write_mu, g.mu exclusive.
void Follow(LiveGallery& g, const CatalogBatch& batch) {
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
}

constexpr size_t kMaxGroupItems = 256;  // items one group commit writes at most

// The leader's work: every put of `group` that fits in the gallery, in one batch.
void CommitGroup(const Engine::Rep& r, LiveGallery& g, const std::vector<PendingPut*>& group,
                 const std::string& gallery) {
  std::lock_guard writer(g.write_mu);
  absl::StatusOr<CatalogBatch> batch = Fail(Reason::kInternal);
  std::vector<PendingPut*> written;
  {
    std::shared_lock lock(g.mu);
    if (g.deleted) {
      for (PendingPut* p : group) {
        p->status = Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
      }
      return;
    }
    // Each put fits or fails alone (a full gallery refuses the one that overfills it).
    const int64_t capacity = r.Capacity(g);
    std::unordered_map<std::string, bool> keys;  // new keys taken by earlier puts
    std::vector<Prepared> all;
    for (PendingPut* p : group) {
      size_t fresh = 0;
      for (const Prepared& item : *p->prepared) {
        const std::string& key = item.item->key;
        fresh += g.id_of.count(key) == 0 && keys.count(key) == 0;
      }
      if (fresh > 0 && int64_t(g.meta.size() + keys.size() + fresh) > capacity) {
        p->status = GalleryFull();
        continue;
      }
      for (Prepared& item : *p->prepared) {
        if (g.id_of.count(item.item->key) == 0) keys[item.item->key] = true;
        all.push_back(std::move(item));
      }
      written.push_back(p);
    }
    if (written.empty()) return;
    batch = Write(r, g, all);  // synced: searches hold the lock shared meanwhile
  }
  for (PendingPut* p : written) p->status = batch.status();
  if (!batch.ok()) return;
  std::unique_lock lock(g.mu);
  Follow(g, *batch);
}

// Queues `prepared` for the gallery's next group commit and waits for its outcome.
absl::Status GroupCommit(const Engine::Rep& r, LiveGallery& g, std::vector<Prepared>& prepared,
                         const std::string& gallery) {
  PendingPut me;
  me.prepared = &prepared;
  std::unique_lock queue(g.commit_mu);
  g.commit_queue.push_back(&me);
  me.cv.wait(queue, [&] { return me.done || g.commit_queue.front() == &me; });
  if (me.done) return me.status;  // a leader before us wrote it
  std::vector<PendingPut*> group;
  size_t items = 0;
  for (PendingPut* p : g.commit_queue) {
    if (!group.empty() && items + p->prepared->size() > kMaxGroupItems) break;
    group.push_back(p);
    items += p->prepared->size();
  }
  queue.unlock();
  CommitGroup(r, g, group, gallery);
  queue.lock();
  for (PendingPut* p : group) {
    g.commit_queue.pop_front();  // the group is the queue's front, in order
    if (p != &me) {
      p->done = true;
      p->cv.notify_one();  // under commit_mu: p cannot return (and go) before we let go
    }
  }
  if (!g.commit_queue.empty()) g.commit_queue.front()->cv.notify_one();  // the next leader
  return me.status;
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
  return GroupCommit(r, *g, prepared, gallery);
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
  RETURN_IF_ERROR(GroupCommit(r, *g, prepared, gallery));
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
  std::lock_guard writer(g->write_mu);
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
  std::lock_guard writer(g->write_mu);
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
  batch.puts.push_back(ItemWrite{rec, {}, {}});
  RETURN_IF_ERROR(rep_->ports.catalog->Apply(g->record.uid, batch));
  ItemMeta& m = g->meta[rec.id];
  g->tags.Remove(rec.id, m.tags);
  m.tags = tags;
  g->tags.Add(rec.id, m.tags);
  return absl::OkStatus();
}

}  // namespace iss::engine
