// store::RocksCatalog: the engine's CatalogStore port (engine/ports/catalog_store.h) over
// the "catalog" namespace of the RocksDB store, in the on-disk format of catalog_codec.h
// (unchanged from the data directories src/core wrote).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<engine::CatalogStore> catalog, store::OpenCatalog(db));
//   ASSIGN_OR_RETURN(uint64_t uid, catalog->NextGalleryUid());
//   RETURN_IF_ERROR(catalog->CreateGallery({.gallery = g, .uid = uid}));
//   RETURN_IF_ERROR(catalog->Apply(uid, batch));  // one atomic, synced WriteBatch
//
// Writes: Apply is one atomic synced batch (a failed one changes nothing); CreateGallery
// writes the record and seq/instance together; DeleteGallery is four synced steps in the
// port's order (items, vectors, local features, record). Reads decode every value; a value that
// fails to decode is Reason::kCorrupt with its key in the detail. Other failures: kv.h's reasons.
//
// Thread contract: thread-safe (the Kv is; CreateGallery's read of seq/instance and its
// write are serialized by a mutex). The Kv (or Database) must outlive the catalog.
#ifndef ISS_STORE_ROCKS_CATALOG_H_
#define ISS_STORE_ROCKS_CATALOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "engine/ports/catalog_store.h"
#include "store/kv.h"

namespace iss::store {

// The namespace (RocksDB column family) that holds the catalog.
inline constexpr char kCatalogNamespace[] = "catalog";

class RocksCatalog : public engine::CatalogStore {
 public:
  // `kv` is the catalog namespace (kCatalogNamespace), borrowed.
  explicit RocksCatalog(Kv* kv);

  // Every inst/ record, in key order (project, then name). A corrupt one fails the whole
  // load with kCorrupt: the engine must not start without a gallery it cannot read.
  absl::StatusOr<std::vector<engine::GalleryRecord>> LoadGalleries() override;
  // seq/instance; 1 when absent (a new database).
  absl::StatusOr<uint64_t> NextGalleryUid() override;
  // The record and seq/instance = max(seq/instance, uid + 1), in one synced batch.
  // REQUIRES: record.uid > 0 (kInvalidArgument otherwise).
  absl::Status CreateGallery(const engine::GalleryRecord& record) override;
  // Range-deletes img/<uid>/, then vec/<uid>/ and lf/<uid>/, then deletes the record:
  // synced writes in that order, so a crash in between leaves an empty gallery, never
  // unreachable items.
  absl::Status DeleteGallery(const engine::GalleryRecord& record) override;
  // Compacts the gallery's three ranges (forced bottommost), freeing their disk space.
  void ReclaimGallery(uint64_t uid) override;

  absl::Status ScanItems(uint64_t uid,
                         const std::function<bool(engine::ItemRecord&&)>& fn) override;
  absl::StatusOr<std::optional<engine::ItemRecord>> GetItem(uint64_t uid,
                                                            std::string_view key) override;
  // One atomic synced batch: removals (record, vector and local-feature keys) first, then
  // puts (the record, the vector key with record.version unless ItemWrite::vector is empty,
  // which keeps the stored vector, and the local features unless they are empty). So a batch may
  // remove a key and put it again. An empty batch writes nothing.
  absl::Status Apply(uint64_t uid, const engine::CatalogBatch& batch) override;
  // ctr/<uid>; nullopt when absent (a gallery from before counters were kept).
  absl::StatusOr<std::optional<engine::ItemCounters>> GetCounters(uint64_t uid) override;

  absl::StatusOr<std::optional<StoredVector>> GetVector(uint64_t uid, uint64_t id) override;
  // lf/<uid>/<id> as written (the embedder parses it).
  absl::StatusOr<std::optional<std::string>> GetLocalFeatures(uint64_t uid, uint64_t id) override;
  absl::Status ScanVectors(uint64_t uid,
                           const std::function<bool(uint64_t id, StoredVector&&)>& fn) override;

 private:
  Kv* const kv_;
  iss::Mutex create_mu_;  // serializes CreateGallery (read seq/instance, then write it)
};

// The catalog over `db`'s kCatalogNamespace. `db` must outlive the result.
absl::StatusOr<std::unique_ptr<engine::CatalogStore>> OpenCatalog(Database* db);

}  // namespace iss::store

#endif  // ISS_STORE_ROCKS_CATALOG_H_
