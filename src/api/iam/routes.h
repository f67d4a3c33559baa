// The IAM endpoints clients use before calling the v1 API: POST /v3/auth/tokens (201,
// X-Subject-Token), GET /v3/projects and GET /v3/auth/projects (by X-Auth-Token). Errors
// use the v1 surface's codes (api/v1/errors.h): the cloud's gateway answers both.
//
//   api::iam::RegisterRoutes(&router, auth.get(), {});
//
// Token issue is rate limited per source address (every request) and, counting failed
// logins only, per (user, address) and per user; a user whose bucket is empty is refused
// only from addresses that failed for that user lately, so a guesser elsewhere never locks
// the user out of a clean address (routes.cc, LoginLimits). Thread contract: handlers are
// thread-safe (AuthService is).
#ifndef ISS_API_IAM_ROUTES_H_
#define ISS_API_IAM_ROUTES_H_

#include <cstdint>

#include "api/http/rate_limiter.h"
#include "api/http/router.h"

namespace iss::auth {
class AuthService;
}

namespace iss::api::iam {

struct IamOptions {
  RateLimit login_limit;  // token requests per address; failed logins per user, per (user, address)
  int64_t max_body_bytes = 64 << 10;  // Default: 64 KiB (a token request is ~300 bytes)
};

void RegisterRoutes(Router* router, auth::AuthService* auth, const IamOptions& options);

}  // namespace iss::api::iam

#endif  // ISS_API_IAM_ROUTES_H_
