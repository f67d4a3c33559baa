// The Image Search v1 operations as routes: strict request validation (types, limits,
// names, Base64), the mapping from the wire's fields to the engine's domain values (an
// instance is a gallery, an image an item, its path the item's key) with the v1 defaults,
// and the wire shapes of the answers. Every route authenticates with the project of its
// URL (AuthPolicy::kProject, enforced by the pipeline before the handler runs).
//
//   api::Router router;
//   api::v1::RegisterRoutes(&router, engine.get());
//
// The choices the reference leaves open are written in docs/api.md.
// Thread contract: the handlers are thread-safe; they borrow `engine`, which must outlive
// the router. They may embed images: run them on worker threads only (HttpServer does).
#ifndef ISS_API_V1_ROUTES_H_
#define ISS_API_V1_ROUTES_H_

#include "api/http/router.h"

namespace iss::engine {
class Engine;
}

namespace iss::api::v1 {

void RegisterRoutes(Router* router, engine::Engine* engine);

// The v1 answer for a failure outside any route (unknown paths, oversized bodies): the
// pipeline's default renderer.
HttpResponse RenderDefaultError(const absl::Status& status);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_ROUTES_H_
