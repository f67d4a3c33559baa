// Plain HTTP request/response values shared by the server and the route handlers.
// No Beast types leak out of api/http_server.*: handlers (api/, and the IAM routes in
// api/iam_routes.*) see only these.
#ifndef ISS_API_HTTP_TYPES_H_
#define ISS_API_HTTP_TYPES_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iss::api {

struct HttpRequest {
  std::string method;  // upper case: "GET", "POST", ...
  std::string target;  // raw request target as received: "/v1/p/service?x=1"
  std::string path;    // raw (still percent-encoded) path part of target
  std::string query;   // raw query string without '?', "" when none
  // Headers in the order received, names as sent (case preserved). Use Header().
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // exact bytes received
  std::string remote_addr;  // peer IP address
  std::string request_id;   // assigned by the server, echoed in X-Request-Id

  // First header of that name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string content_type = "application/json";
  std::string body;
  std::string route;  // the matched route's pattern, set by the server (metrics)
};

// Path parameters of the matched route, e.g. {"project_id": "p1", "instance_name": "x"}
// (percent-decoded).
using RouteParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const RouteParams&)>;

}  // namespace iss::api

#endif  // ISS_API_HTTP_TYPES_H_
