// Internal to the engine: one open gallery's in-memory state (key -> id, id -> key and
// tags, tag bitmaps, its index shard) and the registry of open galleries.
//
// Thread contract: a LiveGallery's fields below `mu` are guarded by it (shared for reads,
// exclusive for writes); `record` is immutable after the gallery is published; the
// embedder and shard pointers are set once before publication. Item writers (puts,
// removals, tag changes) are serialised by `write_mu`, taken before `mu`: a put holds `mu`
// only shared while its catalog write is synced (searches go on) and exclusively only while
// memory follows. `commit_queue` (guarded by `commit_mu`, taken before both) is the group
// commit: concurrent puts wait in it and the one at its front writes every waiting put in
// one synced catalog batch (items.cc). The Registry is thread-safe; it never holds its lock
// across I/O.
#ifndef ISS_ENGINE_GALLERY_H_
#define ISS_ENGINE_GALLERY_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <roaring/roaring64map.hh>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "engine/ports/catalog_store.h"
#include "engine/ports/index_shard.h"
#include "engine/ports/models.h"
#include "model/types.h"

namespace iss::engine {

// Tag key -> value -> ids of the items carrying it.
class TagIndex {
 public:
  void Add(uint64_t id, const model::Tags& tags);
  void Remove(uint64_t id, const model::Tags& tags);
  // Ids whose tags match every given key=value (empty `filter`: empty result).
  Roaring64Map Filter(const model::Tags& filter) const;

 private:
  std::map<std::string, std::map<std::string, Roaring64Map>> bits_;
};

struct ItemMeta {
  std::string key;
  model::Tags tags;
  int64_t created_ms = 0;
};

// A put waiting in a gallery's commit queue (items.cc).
struct PendingPut;

struct LiveGallery {
  GalleryRecord record;
  const Embedder* embedder = nullptr;  // nullptr: the model is not installed (abnormal)
  std::unique_ptr<IndexShard> shard;

  std::mutex commit_mu;
  std::deque<PendingPut*> commit_queue;  // guarded by commit_mu; front: the writer
  std::mutex write_mu;                   // serialises item writers; before mu

  mutable std::shared_mutex mu;
  std::unordered_map<std::string, uint64_t> id_of;  // key -> id
  std::unordered_map<uint64_t, ItemMeta> meta;      // id -> key, tags
  TagIndex tags;
  uint64_t next_id = 1;
  uint64_t next_version = 1;  // write stamp of the next item (catalog_store.h)
  bool deleted = false;
  int jobs = 0;  // jobs (imports, syncs) that hold the gallery: it cannot be deleted
  // Vectors committed to the catalog whose index append failed (a full disk): searched
  // exactly beside the shard until a later write gets them in (RetryUnindexed) or a restart
  // replays them from the catalog. Never in the shard at the same time.
  struct Unindexed {
    uint64_t version = 0;
    std::vector<float> vector;
  };
  std::unordered_map<uint64_t, Unindexed> unindexed;  // id -> vector

  const model::Gallery& gallery() const { return record.gallery; }
  // REQUIRES: mu held exclusively (or the gallery not yet published).
  void AttachMeta(const ItemRecord& r);
  // Forgets `id` (meta, tags, key map, shard). REQUIRES: mu held exclusively.
  void Detach(uint64_t id);
  // Puts a committed vector into the shard; when the shard refuses (its files cannot be
  // written), keeps it in `unindexed` instead and returns the shard's error (the write is
  // committed all the same: the catalog is the source of truth). REQUIRES: mu exclusive.
  absl::Status IndexVector(uint64_t id, const std::vector<float>& vector, uint64_t version);
  // Moves what it can of `unindexed` into the shard. REQUIRES: mu held exclusively.
  void RetryUnindexed();
};

using GalleryPtr = std::shared_ptr<LiveGallery>;

// The open galleries by (project, name), with the names being created or deleted.
class Registry {
 public:
  enum class Slot { kFree, kOpen, kCreating, kDeleting };

  GalleryPtr Find(const std::string& project, const std::string& name) const;
  Slot StateOf(const std::string& project, const std::string& name) const;
  // Reserves the name for a creation; kGalleryExists / kGalleryDeleting / kGalleryLimit
  // when it cannot be. `limit` counts the project's galleries, reservations included.
  absl::Status Reserve(const std::string& project, const std::string& name, int limit);
  // Ends a reservation: publishes `g`, or frees the name when g is null.
  void Publish(const std::string& project, const std::string& name, GalleryPtr g);
  // Hides an open gallery from Find (kDeleting) and returns it; nullptr when not open.
  GalleryPtr BeginDelete(const std::string& project, const std::string& name);
  // Ends a deletion: forgets the gallery (done) or makes it visible again (failed).
  void EndDelete(const std::string& project, const std::string& name, bool done);
  // Every open gallery; only `project`'s when it is not empty.
  std::vector<GalleryPtr> All(const std::string& project) const;
  // Adds a recovered gallery (start-up, single-threaded).
  void Insert(GalleryPtr g);
  uint64_t TakeUid() { return next_uid_++; }
  void SetNextUid(uint64_t uid) { next_uid_ = uid; }

 private:
  struct Entry {
    std::string project;
    Slot slot = Slot::kFree;
    GalleryPtr gallery;
  };
  static std::string Key(const std::string& project, const std::string& name) {
    return project + "/" + name;
  }
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  std::atomic<uint64_t> next_uid_{1};
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_GALLERY_H_
