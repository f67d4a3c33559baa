// The eight Image Search v1 operations as routes on a Router: strict request validation
// (types, limits, names, Base64), authentication, and the wire shapes of the answers.
//
//   api::Router router;
//   api::RegisterV1Routes(&router, service.get(), authenticator.get());
//
// Handlers parse and validate the JSON body into core/ requests, call core::Service, and
// serialise the result; every failure is an absl::Status turned into an error body by
// ErrorResponse(). The choices the reference leaves open are written in docs/api.md.
// Thread contract: the registered handlers are thread-safe (they borrow `service` and
// `authenticator`, which must outlive the router). Handlers call the Service, which may
// embed images: run them on worker threads only (HttpServer does).
#ifndef ISS_API_V1_ROUTES_H_
#define ISS_API_V1_ROUTES_H_

#include "api/router.h"

namespace iss::core {
class Service;
}
namespace iss::auth {
class Authenticator;
}

namespace iss::api {

// `authenticator` == nullptr disables authentication (the caller logs a warning).
void RegisterV1Routes(Router* router, core::Service* service,
                      const auth::Authenticator* authenticator);

}  // namespace iss::api

#endif  // ISS_API_V1_ROUTES_H_
