// The route table: method + path pattern -> handler, with each route's authentication
// policy, body limit and error renderer declared where the route is.
//
//   Router router;
//   router.Add({.method = "POST", .pattern = "/v1/{project_id}/service",
//               .auth = AuthPolicy::kProject, .handler = CreateInstance,
//               .errors = v1::Render});
//   Router::Match m = router.Find("POST", "/v1/p1/service");
//
// Patterns are '/'-separated segments, each a literal or a {name}. Matching splits the raw
// path on '/', percent-decodes each segment, and prefers literal segments over {name}
// at each position (so "/v1/{p}/service/{name}" wins over "/v1/{p}/{instance}/image" for
// "/v1/p/service/image"; see docs/api.md). Thread contract: Add() before serving; Find() is
// then safe from many threads.
#ifndef ISS_API_HTTP_ROUTER_H_
#define ISS_API_HTTP_ROUTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.h"

namespace iss::api {

enum class AuthPolicy {
  kPublic,    // no credentials (health, metrics, IAM token issue)
  kProject,   // a credential scoped to the route's {project_id}
  kOperator,  // a credential of an operator (admin API)
  kIdentity,  // any valid credential, no project scope (IAM reads: whose projects?)
};

struct Route {
  std::string method;   // "GET", "POST" ...
  std::string pattern;  // "/v1/{project_id}/service"
  AuthPolicy auth = AuthPolicy::kPublic;
  int64_t max_body_bytes = 0;  // 0: the server's limit
  Handler handler;
  ErrorRenderer errors;  // empty: the pipeline's default renderer
  // Run on the I/O thread instead of the worker pool: only for public handlers that take
  // microseconds and touch nothing that blocks (health), so busy workers never delay them.
  bool on_io_thread = false;
};

class Router {
 public:
  struct Match {
    const Route* route = nullptr;  // nullptr: no route for this method+path
    RouteParams params;
    bool path_matched = false;  // true when the path exists for another method
  };

  void Add(Route route);
  // A public route (tests, health checks).
  void Add(std::string method, std::string pattern, Handler handler);
  Match Find(std::string_view method, std::string_view raw_path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // per route
};

// Percent-decodes `in` into *out; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above
// U+10FFFF). The pipeline refuses path parameters that are not, before any handler runs.
bool IsValidUtf8(std::string_view s);

}  // namespace iss::api

#endif  // ISS_API_HTTP_ROUTER_H_
