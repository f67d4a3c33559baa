// Internal to the engine: the state behind Engine (options, ports, the registry of open
// galleries) and the helpers its use cases share (engine.cc: galleries, items.cc: items,
// search.cc: search, recovery.cc: start-up).
// Thread contract: as Engine's (engine.h).
#ifndef ISS_ENGINE_ENGINE_REP_H_
#define ISS_ENGINE_ENGINE_REP_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/gallery.h"

namespace iss::engine {

struct Engine::Rep {
  EngineOptions options;
  EnginePorts ports;
  Registry registry;

  // The gallery for an instance operation: it exists (kGalleryNotFound).
  absl::StatusOr<GalleryPtr> Find(const std::string& project, const std::string& name) const;
  // The gallery for an item operation or a search: it exists, its model is installed
  // (kGalleryAbnormal) and `tags` only uses its tag keys (kTagUnknown).
  absl::StatusOr<GalleryPtr> FindUsable(const std::string& project, const std::string& name,
                                        const model::Tags& tags) const;
  // True when `locator` has a form the blob source fetches (Engine::CanFetch).
  bool Fetchable(std::string_view locator) const;
  // The image bytes named by `locator` (kNoQuery when it is not fetchable).
  absl::StatusOr<std::string> Fetch(std::string_view locator) const;
  // As Fetch; with_metadata also asks for the object's metadata (BlobSource).
  absl::StatusOr<Blob> Fetch(std::string_view locator, bool with_metadata) const;
  // The gallery's item cap: its own capacity and the engine's, whichever is smaller.
  int64_t Capacity(const LiveGallery& g) const;
  // Opens the index shard of a gallery (persisted unless its model is missing).
  absl::StatusOr<std::unique_ptr<IndexShard>> OpenShard(uint64_t uid,
                                                        const Embedder* embedder) const;

  // recovery.cc: recovers every gallery from the catalog (and the shards' snapshots).
  absl::Status Recover();
  absl::Status RecoverItems(LiveGallery& g);
};

// kTagUnknown when `tags` uses a key the gallery does not declare.
absl::Status CheckTagKeys(const model::Gallery& g, const model::Tags& tags);

// A detail naming a gallery: "(instance `shoes`)".
std::string GalleryDetail(const std::string& name, std::string_view what = {});

}  // namespace iss::engine

#endif  // ISS_ENGINE_ENGINE_REP_H_
