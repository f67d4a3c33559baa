// One way through for every request, whatever its surface:
//   request id (server) -> route -> [a CORS preflight: answered] -> limits (body size at header
//   time; rate by source address) -> [a large body: credentials from the headers first, then the
//   body is read]
//   -> authenticate by the route's policy -> rate by credential -> handler -> metrics
//   (server, when the answer is written).
// Failures along the way are statuses with a reason (kRouteNotFound, kMethodNotAllowed,
// kPayloadTooLarge, kRateLimited, kMalformedRequest for a path parameter that is not
// UTF-8, kUnauthenticated, kPermissionDenied, kInternal for anything that threw); the route's
// surface renders them (Route::errors), or the default renderer when no route matched.
//
//   Pipeline pipeline(&router, authenticator, {.default_errors = v1::RenderError});
//   Router::Match m = pipeline.Lookup("POST", "/v1/p/service");
//   HttpResponse r = pipeline.Handle(request, m);
//
// Thread contract: after construction every method is thread-safe; the router and the
// authenticator must outlive the pipeline.
#ifndef ISS_API_HTTP_PIPELINE_H_
#define ISS_API_HTTP_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/http/cors.h"
#include "api/http/rate_limiter.h"
#include "api/http/router.h"
#include "common/clock.h"

namespace iss::auth {
class Authenticator;
struct Principal;
}  // namespace iss::auth

namespace iss::api {

struct PipelineOptions {
  RateLimit address_limit;       // per source address, on authenticated routes, before auth
  RateLimit credential_limit;    // per token user / access key, after auth
  ErrorRenderer default_errors;  // for failures outside any route; required
  // Web origins allowed to call cross-origin ("*": any); default none: CORS off (cors.h).
  std::vector<std::string> cors_origins;
  const Clock* clock = Clock::Real();
};

class Pipeline {
 public:
  // `authenticator` nullptr: authentication is off (every policy passes, no principal).
  Pipeline(const Router* router, const auth::Authenticator* authenticator, PipelineOptions options);
  ~Pipeline();

  Router::Match Lookup(std::string_view method, std::string_view raw_path) const;
  // The route's body limit (0: none of its own).
  static int64_t BodyLimit(const Router::Match& m) { return m.route ? m.route->max_body_bytes : 0; }
  // Bodies above this many bytes (or of unknown length) on authenticated routes are read
  // only after the headers' credentials pass (AuthenticateHeaders): an unauthenticated
  // connection holds at most this much body.
  static constexpr uint64_t kEarlyAuthenticationBytes = 64 << 10;
  // Whether the server must call AuthenticateHeaders() before reading this request's body.
  bool WantsEarlyAuthentication(const Router::Match& match,
                                std::optional<uint64_t> content_length) const;
  // From the headers alone (request.body empty): the refusal to answer with, or nullopt
  // when the body may be read (Handle() authenticates again, in full). Never throws.
  std::optional<HttpResponse> AuthenticateHeaders(const HttpRequest& request,
                                                  const Router::Match& match) const;
  // Everything after the body has arrived. Never throws.
  HttpResponse Handle(const HttpRequest& request, const Router::Match& match) const;
  // CORS: the server adds its headers to every answer it writes.
  const Cors& cors() const { return cors_; }
  // The error answer for `status` on `match`'s route (its renderer, else the default).
  HttpResponse Reject(const absl::Status& status, const Router::Match* match) const;

 private:
  HttpResponse HandleUnguarded(const HttpRequest& request, const Router::Match& match) const;
  absl::StatusOr<auth::Principal> Authenticate(const HttpRequest& request,
                                               const Router::Match& match, bool body_pending) const;

  const Router* router_;
  const auth::Authenticator* authenticator_;
  PipelineOptions options_;
  std::unique_ptr<RateLimiter> by_address_;
  std::unique_ptr<RateLimiter> by_credential_;
  const Cors cors_;
};

}  // namespace iss::api

#endif  // ISS_API_HTTP_PIPELINE_H_
