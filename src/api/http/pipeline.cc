#include "api/http/pipeline.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>

#include "auth/authenticator.h"
#include "common/status.h"

namespace iss::api {
namespace {

auth::RequestFacts FactsOf(const HttpRequest& req) {
  auth::RequestFacts facts;
  facts.method = req.method;
  facts.raw_path = req.path;
  facts.raw_query = req.query;
  facts.headers = req.headers;
  facts.body = req.body;
  facts.remote_addr = req.remote_addr;
  return facts;
}

}  // namespace

Pipeline::Pipeline(const Router* router, const auth::Authenticator* authenticator,
                   PipelineOptions options)
    : router_(router),
      authenticator_(authenticator),
      options_(std::move(options)),
      by_address_(std::make_unique<RateLimiter>(options_.address_limit, options_.clock)),
      by_credential_(std::make_unique<RateLimiter>(options_.credential_limit, options_.clock)),
      cors_(options_.cors_origins) {}

Pipeline::~Pipeline() = default;

Router::Match Pipeline::Lookup(std::string_view method, std::string_view raw_path) const {
  return router_->Find(method, raw_path);
}

HttpResponse Pipeline::Reject(const absl::Status& status, const Router::Match* match) const {
  if (match != nullptr && match->route != nullptr && match->route->errors) {
    return match->route->errors(status);
  }
  return options_.default_errors(status);
}

HttpResponse Pipeline::Handle(const HttpRequest& req, const Router::Match& m) const {
  // Nothing a request carries may throw past this point (authentication, handlers and
  // renderers included): an exception becomes IS.0009 here.
  try {
    return HandleUnguarded(req, m);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: request threw: {}", req.method, m.route ? m.route->pattern : "",
                  e.what());
  } catch (...) {
    spdlog::error("{} {}: request threw", req.method, m.route ? m.route->pattern : "");
  }
  try {
    return Reject(Fail(Reason::kInternal), &m);
  } catch (...) {  // the renderer itself threw: a bare 500 (wire codes are the surface's)
    HttpResponse r;
    r.status = 500;
    r.body = "{}";
    return r;
  }
}

absl::StatusOr<auth::Principal> Pipeline::Authenticate(const HttpRequest& req,
                                                       const Router::Match& m,
                                                       bool body_pending) const {
  auth::RequestFacts facts = FactsOf(req);
  facts.body_pending = body_pending;
  if (m.route->auth == AuthPolicy::kProject) {
    auto it = m.params.find("project_id");
    return authenticator_->Authenticate(facts, it == m.params.end() ? "" : it->second);
  }
  absl::StatusOr<auth::Principal> who = authenticator_->AuthenticateIdentity(facts);
  if (who.ok() && m.route->auth == AuthPolicy::kOperator && !who->is_operator) {
    return Fail(Reason::kPermissionDenied, "(operators only)");
  }
  return who;
}

bool Pipeline::WantsEarlyAuthentication(const Router::Match& m,
                                        std::optional<uint64_t> content_length) const {
  if (authenticator_ == nullptr || m.route == nullptr || m.route->auth == AuthPolicy::kPublic) {
    return false;
  }
  return !content_length || *content_length > kEarlyAuthenticationBytes;
}

std::optional<HttpResponse> Pipeline::AuthenticateHeaders(const HttpRequest& req,
                                                          const Router::Match& m) const {
  try {
    for (const auto& [name, value] : m.params) {
      if (!IsValidUtf8(value)) {
        return Reject(Fail(Reason::kMalformedRequest,
                           "(the path parameter `" + name + "` is not valid UTF-8)"),
                      &m);
      }
    }
    if (!by_address_->Take("addr:" + req.remote_addr)) {
      return Reject(Fail(Reason::kRateLimited), &m);
    }
    absl::StatusOr<auth::Principal> who = Authenticate(req, m, /*body_pending=*/true);
    if (!who.ok()) return Reject(who.status(), &m);
    return std::nullopt;
  } catch (const std::exception& e) {
    spdlog::error("{} {}: early authentication threw: {}", req.method, m.route->pattern, e.what());
  } catch (...) {
    spdlog::error("{} {}: early authentication threw", req.method, m.route->pattern);
  }
  return Reject(Fail(Reason::kInternal), &m);
}

HttpResponse Pipeline::HandleUnguarded(const HttpRequest& req, const Router::Match& m) const {
  if (std::optional<HttpResponse> preflight = cors_.Preflight(req, m)) return *preflight;
  if (m.route == nullptr) {
    return Reject(m.path_matched
                      ? Fail(Reason::kMethodNotAllowed, "(method not allowed on this path)")
                      : Fail(Reason::kRouteNotFound),
                  nullptr);
  }
  const Route& route = *m.route;
  // Path parameters reach handlers, logs and JSON answers: they must be text.
  for (const auto& [name, value] : m.params) {
    if (!IsValidUtf8(value)) {
      return Reject(
          Fail(Reason::kMalformedRequest, "(the path parameter `" + name + "` is not valid UTF-8)"),
          &m);
    }
  }
  std::optional<auth::Principal> principal;
  if (route.auth != AuthPolicy::kPublic) {
    if (!by_address_->Take("addr:" + req.remote_addr)) {
      return Reject(Fail(Reason::kRateLimited), &m);
    }
    if (authenticator_ != nullptr) {
      absl::StatusOr<auth::Principal> who = Authenticate(req, m, /*body_pending=*/false);
      if (!who.ok()) return Reject(who.status(), &m);
      if (!by_credential_->Take(who->credential)) {
        return Reject(Fail(Reason::kRateLimited), &m);
      }
      principal = std::move(*who);
    }
  }
  return route.handler(Call{req, m.params, principal ? &*principal : nullptr});
}

}  // namespace iss::api
