// The admin surface (ours, not the cloud's): operator routes under /admin/v1, authorised
// to operators only (AuthPolicy::kOperator: a valid credential whose user is an operator).
// This is the seam the admin API grows from (users, keys, projects, jobs, backups: the
// CLI and the console call it); today it lists every instance of every project and shows
// the server's totals.
//
//   GET /admin/v1/instances  -> {"instances": [{"project_id", "name", "model", "images",
//                                "status", "created_ms"}, ...]}   (by project, then name)
//   GET /admin/v1/stats      -> {"instances", "images", "index_ram_bytes",
//                                "index_disk_bytes"}
//
// Errors are answered as the v1 surface answers them (api/v1/errors.h).
// Thread contract: handlers are thread-safe; `engine` must outlive the router.
#ifndef ISS_API_ADMIN_ROUTES_H_
#define ISS_API_ADMIN_ROUTES_H_

#include "api/http/router.h"

namespace iss::engine {
class Engine;
}

namespace iss::api::admin {

void RegisterRoutes(Router* router, engine::Engine* engine);

}  // namespace iss::api::admin

#endif  // ISS_API_ADMIN_ROUTES_H_
