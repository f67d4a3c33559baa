// What the admin routes share: the route shape (operator-only, v1 error dialect), JSON
// answers and body fields. Thread contract: pure functions.
#ifndef ISS_API_ADMIN_INTERNAL_H_
#define ISS_API_ADMIN_INTERNAL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "api/admin/routes.h"
#include "api/http/router.h"

namespace iss::api::admin::internal {

Route AdminRoute(std::string method, std::string pattern, Handler handler);
HttpResponse Json(const nlohmann::json& body, int status = 200);
HttpResponse Error(const absl::Status& status);
// The body as a JSON object (kMalformedRequest-style IS.0008 when it is not one).
absl::StatusOr<nlohmann::json> Body(const HttpRequest& request);
// A required non-empty string field (IS.0001 when missing, IS.0002 when not a string).
absl::StatusOr<std::string> NeedString(const nlohmann::json& body, const char* name);
// An optional string field ("domain"): `fallback` when absent or null; IS.0002 when not a
// string.
absl::StatusOr<std::string> OptString(const nlohmann::json& body, const char* name,
                                      const std::string& fallback);
// An optional boolean field: `fallback` when absent or null; IS.0002 when not a boolean.
absl::StatusOr<bool> OptBool(const nlohmann::json& body, const char* name, bool fallback);
// The identity routes (identity_routes.cc). REQUIRES: deps.auth != nullptr.
void RegisterIdentityRoutes(Router* router, const AdminDeps& deps);

}  // namespace iss::api::admin::internal

#endif  // ISS_API_ADMIN_INTERNAL_H_
