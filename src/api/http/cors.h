// Cross-origin requests (CORS), off unless configured: which web origins a browser lets
// call this server's API (a web app on another host than the server). Same-origin callers
// (the server's own console, curl, SDKs) never need it.
//
//   Cors cors({"https://app.example.com"});          // or {"*"}: any origin
//   if (auto pre = cors.Preflight(request, match)) return *pre;   // OPTIONS, 204
//   cors.Apply(request, &response);                  // Access-Control-Allow-Origin ...
//
// Only the origins listed are answered (exactly, scheme://host[:port]); credentials are
// headers (X-Auth-Token, AK/SK), never cookies, so no Allow-Credentials is sent.
// Thread contract: immutable after construction; every method is thread-safe.
#ifndef ISS_API_HTTP_CORS_H_
#define ISS_API_HTTP_CORS_H_

#include <optional>
#include <string>
#include <vector>

#include "api/http/http_types.h"
#include "api/http/router.h"

namespace iss::api {

class Cors {
 public:
  explicit Cors(std::vector<std::string> allowed_origins = {});
  bool enabled() const { return !origins_.empty(); }
  // The answer to a preflight (OPTIONS with Access-Control-Request-Method) of an allowed
  // origin for a path that exists: 204 with the methods and headers the API takes. nullopt
  // for any other request (it goes its usual way, so OPTIONS stays IS.0010 without CORS).
  std::optional<HttpResponse> Preflight(const HttpRequest& request,
                                        const Router::Match& match) const;
  // Adds Access-Control-Allow-Origin (and Vary, Expose-Headers) when the request's Origin
  // is allowed.
  void Apply(const HttpRequest& request, HttpResponse* response) const;

 private:
  // The Allow-Origin value for the request; "" when it is not allowed.
  std::string AllowedOrigin(const HttpRequest& request) const;

  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace iss::api

#endif  // ISS_API_HTTP_CORS_H_
