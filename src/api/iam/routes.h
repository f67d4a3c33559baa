// The IAM endpoints clients use before calling the v1 API: POST /v3/auth/tokens (201,
// X-Subject-Token), GET /v3/projects and GET /v3/auth/projects (by X-Auth-Token).
// Thread contract: handlers are thread-safe (AuthService is).
#ifndef ISS_API_IAM_ROUTES_H_
#define ISS_API_IAM_ROUTES_H_

#include "api/router.h"

namespace iss::auth {
class AuthService;
}

namespace iss::api {

void RegisterIamRoutes(Router* router, auth::AuthService* auth);

}  // namespace iss::api

#endif  // ISS_API_IAM_ROUTES_H_
