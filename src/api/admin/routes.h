// The admin surface (ours, not the cloud's): operator routes under /admin/v1, authorised
// to operators only (AuthPolicy::kOperator: a valid credential whose user is an operator).
// The `imagesearch admin` CLI and the console call it; everything here works while the
// server serves traffic (no restart, no stopped server).
//
//   GET    /admin/v1/instances  every instance of every project    GET /admin/v1/stats
//   GET    /admin/v1/jobs       every import/sync job of every project
//   GET    /admin/v1/users      POST /admin/v1/users {"name","password","domain"?,"operator"?}
//   DELETE /admin/v1/users/{domain}/{user}
//   PUT    /admin/v1/users/{domain}/{user}/password   {"password"}  (ends the user's tokens)
//   PUT    /admin/v1/users/{domain}/{user}/operator   {"operator": bool}
//   GET    /admin/v1/users/{domain}/{user}/keys       POST (a new AK/SK, the SK shown once)
//   DELETE /admin/v1/keys/{ak}
//   PUT    /admin/v1/users/{domain}/{user}/projects/{project}   grant; DELETE: revoke
//   GET    /admin/v1/projects   POST /admin/v1/projects {"name","domain"?}
//   POST   /admin/v1/backups {"target"}  -> 202, runs in the background
//   GET    /admin/v1/backups    GET /admin/v1/backups/{backup_id}
// Secrets travel only in request bodies (never in a URL) and an SK only in the answer that
// creates it. Answers and errors are in v1's dialect (api/v1/errors.h); the identity
// routes exist only when authentication is on (there are no identities otherwise).
// Thread contract: handlers are thread-safe; what AdminDeps points to outlives the router.
#ifndef ISS_API_ADMIN_ROUTES_H_
#define ISS_API_ADMIN_ROUTES_H_

#include <functional>

#include "api/http/router.h"

namespace iss::auth {
class AuthService;
}
namespace iss::engine {
class Engine;
class JobRunner;
}  // namespace iss::engine

namespace iss::api::admin {

class Backups;

struct AdminDeps {
  engine::Engine* engine = nullptr;   // never null
  engine::JobRunner* jobs = nullptr;  // null: no /admin/v1/jobs
  auth::AuthService* auth = nullptr;  // null (auth off): no identity routes
  Backups* backups = nullptr;         // null: no backup routes
  // Called after a change that may end a secret the bootstrap file shows (a password, a
  // key, a user), so the file drops it. May be empty.
  std::function<void()> secrets_changed;
};

void RegisterRoutes(Router* router, const AdminDeps& deps);

}  // namespace iss::api::admin

#endif  // ISS_API_ADMIN_ROUTES_H_
