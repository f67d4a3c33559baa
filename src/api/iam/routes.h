// The IAM endpoints clients use before calling the v1 API: POST /v3/auth/tokens (201,
// X-Subject-Token, a catalog naming this server), and the reads the SDKs make to find their
// project and domain ids: GET /v3/projects, GET /v3/auth/projects, GET /v3/auth/domains (by
// X-Auth-Token or an AK/SK signature, AuthPolicy::kIdentity). Errors use the v1 surface's
// codes (api/v1/errors.h): the cloud's gateway answers both.
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
#include <string>

#include "api/http/rate_limiter.h"
#include "api/http/router.h"

namespace iss::auth {
class AuthService;
}

namespace iss::api::iam {

struct IamOptions {
  RateLimit login_limit;  // token requests per address; failed logins per user, per (user, address)
  int64_t max_body_bytes = 64 << 10;  // Default: 64 KiB (a token request is ~300 bytes)
  // The token catalog's endpoint URL. Default: empty, the request's scheme and Host header.
  std::string public_url;
  // The catalog's region (an SDK's region id; its project lookup asks for a project of
  // that name). Default: "default", the name of the bootstrap project.
  std::string region = "default";
};

void RegisterRoutes(Router* router, auth::AuthService* auth, const IamOptions& options);

}  // namespace iss::api::iam

#endif  // ISS_API_IAM_ROUTES_H_
