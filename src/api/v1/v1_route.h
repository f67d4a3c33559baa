// What the v1 surface's route files share: a route whose handler parses the JSON body,
// runs a body function and serialises its answer or its failure (v1 error codes, with
// per-route overrides), and the check of an instance name taken from a URL.
//
//   router->Add(V1Route("GET", "/v1/{project_id}/service/{instance_name}", true, fn));
//
// Thread contract: the routes are immutable; handlers are thread-safe when `fn` is.
#ifndef ISS_API_V1_V1_ROUTE_H_
#define ISS_API_V1_V1_ROUTE_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/http/router.h"
#include "api/v1/errors.h"

namespace iss::api::v1 {

// A handler body: the parsed request in, a JSON answer (or a failure) out.
using Body = std::function<absl::StatusOr<nlohmann::json>(
    const std::string& project, const RouteParams& params, const nlohmann::json& body)>;

// A v1 route: authenticated by its project (the pipeline), then the body parsed, `fn`
// run, the answer serialised. `allow_empty_body` for routes that take no body (GET,
// DELETE instance; clients may still send "{}").
Route V1Route(std::string method, std::string pattern, bool allow_empty_body, Body fn,
              std::span<const CodeOverride> overrides = {});

// The instance name of a URL (or a body naming one): same rule as at creation, but an
// instance that cannot exist is reported as missing (IS.2019), never as a bad name.
absl::Status CheckUrlInstance(const std::string& name);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_V1_ROUTE_H_
