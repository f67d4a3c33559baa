// Port: the durable catalog of galleries and items, the engine's source of truth. The
// RocksDB adapter (store/rocks_catalog.h) implements it.
//
//   ASSIGN_OR_RETURN(std::vector<GalleryRecord> galleries, catalog->LoadGalleries());
//   CatalogBatch batch;
//   batch.puts.push_back({record, vector});
//   RETURN_IF_ERROR(catalog->Apply(uid, batch));   // atomic, durable when OK
//
// Every write is atomic and durable (synced) when it returns OK; a failed write changes
// nothing. An item's record and its vector are written together with the same version
// (a per-gallery write stamp the index compares against its snapshot).
// Thread contract: every method is thread-safe.
#ifndef ISS_ENGINE_PORTS_CATALOG_STORE_H_
#define ISS_ENGINE_PORTS_CATALOG_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/types.h"

namespace iss::engine {

struct GalleryRecord {
  model::Gallery gallery;  // item_count is not stored
  uint64_t uid = 0;        // never reused; names the gallery's items, vectors and index
};

struct ItemRecord {
  std::string key;
  uint64_t id = 0;  // internal id, unique within the gallery, never reused
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string model;
  model::Tags tags;
  uint64_t version = 0;              // 0 in a legacy record
  std::vector<float> legacy_vector;  // only in a legacy record (vector inline)
};

struct ItemWrite {
  ItemRecord record;
  std::vector<float> vector;  // empty: the record alone (tags changed), vector kept
  // The image's Embedding::local_features, written with the vector; empty: none written
  // (a vector-only rewrite keeps what is stored).
  std::string local_features;
};

struct ItemRemoval {
  std::string key;
  uint64_t id = 0;
};

// The next item id and version stamp a gallery hands out. Persisted with every batch that
// consumes them, so they never go back: an (id, version) pair is never given twice, even
// after the item that had it was deleted (an index snapshot may still hold it).
struct ItemCounters {
  uint64_t next_id = 1;
  uint64_t next_version = 1;
};

// Writes applied atomically to one gallery.
struct CatalogBatch {
  std::vector<ItemWrite> puts;
  std::vector<ItemRemoval> removals;
  std::optional<ItemCounters> counters;  // written with the batch when set
  bool empty() const { return puts.empty() && removals.empty() && !counters; }
};

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  virtual absl::StatusOr<std::vector<GalleryRecord>> LoadGalleries() = 0;
  // The uid the next new gallery gets (persisted, never goes back).
  virtual absl::StatusOr<uint64_t> NextGalleryUid() = 0;
  // Writes a new gallery's record and advances the persisted uid counter past its uid
  // (never back: concurrent creations may finish in any order).
  virtual absl::Status CreateGallery(const GalleryRecord& record) = 0;
  // Removes the gallery's items, vectors, local features and record (in that order, so a crash in
  // between leaves an empty gallery, never unreachable items).
  virtual absl::Status DeleteGallery(const GalleryRecord& record) = 0;
  // Gives the disk space of a deleted gallery back (best effort; blocks the caller).
  virtual void ReclaimGallery(uint64_t uid) = 0;

  // Calls fn for each item record of gallery `uid`, in key order, until it returns false.
  virtual absl::Status ScanItems(uint64_t uid, const std::function<bool(ItemRecord&&)>& fn) = 0;
  virtual absl::StatusOr<std::optional<ItemRecord>> GetItem(uint64_t uid, std::string_view key) = 0;
  // The counters the last batch that carried them wrote; nullopt for a gallery written
  // before counters were persisted (the engine then derives them from the items).
  virtual absl::StatusOr<std::optional<ItemCounters>> GetCounters(uint64_t uid) = 0;
  virtual absl::Status Apply(uint64_t uid, const CatalogBatch& batch) = 0;

  struct StoredVector {
    uint64_t version = 0;
    std::vector<float> vector;
  };
  virtual absl::StatusOr<std::optional<StoredVector>> GetVector(uint64_t uid, uint64_t id) = 0;
  // The local features stored with item `id`'s vector; nullopt when it has none.
  virtual absl::StatusOr<std::optional<std::string>> GetLocalFeatures(uint64_t uid,
                                                                      uint64_t id) = 0;
  // Calls fn for each stored vector of gallery `uid`, in id order, until it returns false.
  virtual absl::Status ScanVectors(uint64_t uid,
                                   const std::function<bool(uint64_t id, StoredVector&&)>& fn) = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_CATALOG_STORE_H_
