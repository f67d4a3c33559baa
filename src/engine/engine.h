// The engine: galleries of images under caller-chosen keys, with tags, searched by image
// (nearest vectors) or by tags. It speaks the domain (model/types.h) and fails with
// semantic reasons (common/status.h); each API surface maps those to its wire format.
//
//   EnginePorts ports{.catalog = catalog.get(), .index = factory.get(), .models = models.get(),
//                     .blobs = blobs.get()};
//   ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options, ports));
//   ASSIGN_OR_RETURN(model::Gallery g, engine->CreateGallery("p1", spec));
//   RETURN_IF_ERROR(engine->PutItem("p1", "shoes", item));
//   ASSIGN_OR_RETURN(model::Page page, engine->Search("p1", "shoes", query));
//
// The catalog is the source of truth: every change is written (durably) to it before the
// in-memory state (key -> id map, tag bitmaps, the vector index) changes and OK returns; a
// refused change leaves no trace. At start-up every gallery is recovered from the catalog
// and its index snapshot (engine/recovery.cc).
// Failures: kGalleryNotFound, kGalleryExists, kGalleryDeleting, kGalleryLimit, kGalleryBusy,
// kGalleryAbnormal, kModelUnknown, kTagUnknown, kItemNotFound, kItemLimit, kNoQuery,
// kEmbeddingFailed, and whatever the ports report (images, blobs, storage).
// Thread contract: every method may be called concurrently. Methods that embed images
// (PutItem(s), Search with an image) are CPU-heavy: call them from worker threads. Locks:
// a registry lock for the gallery map (never held across I/O), a reader/writer lock per
// gallery (searches shared, writes exclusive); embedding and downloads happen before any
// lock is taken.
#ifndef ISS_ENGINE_ENGINE_H_
#define ISS_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/ports/blob_source.h"
#include "engine/ports/catalog_store.h"
#include "engine/ports/index_shard.h"
#include "engine/ports/models.h"
#include "engine/ports/snapshot_store.h"
#include "model/types.h"

namespace iss::engine {

struct EngineOptions {
  int64_t max_items_per_gallery = 30000000;  // Default: 30,000,000 (also capped per gallery)
  int max_galleries_per_project = 100;       // Default: 100
};

// What the engine runs on; borrowed, and must outlive the engine.
struct EnginePorts {
  CatalogStore* catalog = nullptr;        // required
  IndexFactory* index = nullptr;          // required
  const ModelRegistry* models = nullptr;  // required
  const BlobSource* blobs = nullptr;      // optional: without it nothing is fetched
  SnapshotStore* snapshots = nullptr;     // optional: orphaned shard files are removed at start
  const Clock* clock = Clock::Real();
};

class Engine {
 public:
  // Recovers every gallery before returning.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options,
                                                      const EnginePorts& ports);
  ~Engine();

  // --- galleries ---
  absl::StatusOr<model::Gallery> CreateGallery(const std::string& project,
                                               const model::GallerySpec& spec);
  absl::StatusOr<model::Gallery> GetGallery(const std::string& project, const std::string& name);
  absl::Status DeleteGallery(const std::string& project, const std::string& name);
  // The galleries of `project` by name; every project's when `project` is empty.
  absl::StatusOr<std::vector<model::Gallery>> ListGalleries(const std::string& project);

  // --- items ---
  // Adds or replaces the item under item.key. Without image bytes, they are fetched with
  // item.key as the locator.
  absl::Status PutItem(const std::string& project, const std::string& gallery,
                       const model::NewItem& item);
  // Puts several items with one durable catalog write. All or nothing: the first item that
  // cannot be embedded fails the whole batch, and nothing is written.
  absl::Status PutItems(const std::string& project, const std::string& gallery,
                        const std::vector<model::NewItem>& items);
  // Embeds each item on its own and writes every one that could be embedded with one
  // durable catalog write. One status per item, in order (OK: written); the call fails
  // only when nothing could be tried (no gallery, a tag key it lacks, a failed write).
  absl::StatusOr<std::vector<absl::Status>> PutItemsEach(const std::string& project,
                                                         const std::string& gallery,
                                                         const std::vector<model::NewItem>& items);
  absl::StatusOr<bool> HasItem(const std::string& project, const std::string& gallery,
                               const std::string& key);
  absl::Status RemoveItem(const std::string& project, const std::string& gallery,
                          const std::string& key);
  absl::Status SetItemTags(const std::string& project, const std::string& gallery,
                           const std::string& key, const model::Tags& tags);

  // --- jobs ---
  // A job (an import, a sync) holds the gallery while it is unfinished: DeleteGallery
  // answers kGalleryBusy until every hold is released. kGalleryNotFound when it is gone.
  absl::Status HoldGallery(const std::string& project, const std::string& name);
  void ReleaseGallery(const std::string& project, const std::string& name);
  // The image bytes `locator` names and the object's metadata, through the blob source
  // (kNoQuery: not fetchable).
  absl::StatusOr<Blob> FetchBlob(std::string_view locator) const;
  // The object's size and ETag without its bytes; nullopt when the source cannot tell.
  absl::StatusOr<std::optional<BlobStat>> StatBlob(std::string_view locator) const;

  // --- search ---
  absl::StatusOr<model::Page> Search(const std::string& project, const std::string& gallery,
                                     const model::Query& query);
  // Searches `target` with the stored vectors of `keys` in `source` (an item's score is its
  // best over them), paged and filtered by query's offset, limit and filter (its image and
  // key are not used). Both galleries must use the same model (kInvalidArgument); a key not
  // in `source` is kItemNotFound.
  absl::StatusOr<model::Page> CrossSearch(const std::string& project, const std::string& source,
                                          const std::vector<std::string>& keys,
                                          const std::string& target, const model::Query& query);

  // --- operators ---
  absl::StatusOr<model::IndexStats> GetIndexStats(const std::string& project,
                                                  const std::string& gallery);
  model::EngineStats Stats();
  // True when `locator` has a form the blob source can fetch (a surface checks this to
  // refuse early, before any state is looked at).
  bool CanFetch(std::string_view locator) const;

  struct Rep;

 private:
  explicit Engine(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_ENGINE_H_
