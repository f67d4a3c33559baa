// Plain HTTP values shared by the server, the pipeline and the API surfaces' handlers. No
// Beast types leak out of api/http/http_server.cc: handlers see only these.
//
//   HttpResponse Handle(const Call& call) {
//     const std::string& project = call.params.at("project_id");
//     ...
//   }
//
// Thread contract: plain values.
#ifndef ISS_API_HTTP_HTTP_TYPES_H_
#define ISS_API_HTTP_HTTP_TYPES_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace iss::auth {
struct Principal;
}

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
  bool secure = false;      // received over TLS
  std::string request_id;   // assigned by the server, echoed in X-Request-Id

  // First header of that name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string content_type = "application/json";
  std::string body;
};

// Path parameters of the matched route, e.g. {"project_id": "p1", "instance_name": "x"}
// (percent-decoded).
using RouteParams = std::map<std::string, std::string>;

// What a handler gets: the request, its route's parameters and who is calling (nullptr
// on public routes, and everywhere when authentication is off).
struct Call {
  const HttpRequest& request;
  const RouteParams& params;
  const auth::Principal* principal = nullptr;
};

using Handler = std::function<HttpResponse(const Call&)>;

// Turns a failed status into a surface's error answer (each surface has its own codes).
using ErrorRenderer = std::function<HttpResponse(const absl::Status&)>;

}  // namespace iss::api

#endif  // ISS_API_HTTP_HTTP_TYPES_H_
