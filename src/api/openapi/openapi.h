// GET /openapi.json: the OpenAPI 3 document of every route the server registers (v1,
// import jobs, IAM, the operator API, health, metrics, this one). Its source is
// docs/openapi.json, embedded into the binary at build time (embed.cmake), so the server
// answers it from any working directory. Public (no credentials), application/json.
//
//   api::openapi::RegisterRoutes(&router);
//   std::string_view doc = api::openapi::Document();  // what the route answers
//
// tests/server/openapi_routes_test.cc checks the document against the server's real route
// table (paths, methods, auth policies) and tests/integration/test_openapi.py every answer
// against it. Thread contract: Document() is a constant; the handler is thread-safe.
#ifndef ISS_API_OPENAPI_OPENAPI_H_
#define ISS_API_OPENAPI_OPENAPI_H_

#include <string_view>

#include "api/http/router.h"

namespace iss::api::openapi {

// The document, as docs/openapi.json held it at build time.
std::string_view Document();

void RegisterRoutes(Router* router);

}  // namespace iss::api::openapi

#endif  // ISS_API_OPENAPI_OPENAPI_H_
