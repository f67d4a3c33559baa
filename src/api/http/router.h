// Method + path-pattern routing table for the HTTP server.
//
//   Router router;
//   router.Add("POST", "/v1/{project_id}/service", CreateInstanceHandler);
//   Router::Match m = router.Find("POST", "/v1/p1/service");
//   if (m.handler) response = (*m.handler)(request, m.params);
//
// Patterns are '/'-separated segments, each a literal or a {name}. Matching splits the raw
// path on '/', percent-decodes each segment, and prefers literal segments over {name}
// at each position (so "/v1/{p}/service/{name}" wins over "/v1/{p}/{instance}/image" for
// "/v1/p/service/image"; see docs/api.md). Thread contract: Add() before serving; Find() is
// then safe from many threads.
#ifndef ISS_API_ROUTER_H_
#define ISS_API_ROUTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"

namespace iss::api {

class Router {
 public:
  struct Match {
    const Handler* handler = nullptr;      // nullptr: no route for this method+path
    const std::string* pattern = nullptr;  // the matched route's pattern (metrics label)
    RouteParams params;
    bool path_matched = false;  // true when the path exists for another method
  };

  void Add(std::string method, std::string pattern, Handler handler);
  Match Find(std::string_view method, std::string_view raw_path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Percent-decodes `in` into *out; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out);

}  // namespace iss::api

#endif  // ISS_API_ROUTER_H_
