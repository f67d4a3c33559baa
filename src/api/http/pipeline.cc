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
      by_credential_(std::make_unique<RateLimiter>(options_.credential_limit, options_.clock)) {}

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
  if (m.route == nullptr) {
    return Reject(m.path_matched
                      ? Fail(Reason::kMethodNotAllowed, "(method not allowed on this path)")
                      : Fail(Reason::kRouteNotFound),
                  nullptr);
  }
  const Route& route = *m.route;
  std::optional<auth::Principal> principal;
  if (route.auth != AuthPolicy::kPublic) {
    if (!by_address_->Take("addr:" + req.remote_addr)) {
      return Reject(Fail(Reason::kRateLimited), &m);
    }
    if (authenticator_ != nullptr) {
      absl::StatusOr<auth::Principal> who;
      if (route.auth == AuthPolicy::kProject) {
        auto it = m.params.find("project_id");
        who = authenticator_->Authenticate(FactsOf(req), it == m.params.end() ? "" : it->second);
      } else {
        who = authenticator_->AuthenticateIdentity(FactsOf(req));
        if (who.ok() && route.auth == AuthPolicy::kOperator && !who->is_operator) {
          who = Fail(Reason::kPermissionDenied, "(operators only)");
        }
      }
      if (!who.ok()) return Reject(who.status(), &m);
      if (!by_credential_->Take(who->credential)) {
        return Reject(Fail(Reason::kRateLimited), &m);
      }
      principal = std::move(*who);
    }
  }
  try {
    return route.handler(Call{req, m.params, principal ? &*principal : nullptr});
  } catch (const std::exception& e) {
    spdlog::error("{} {}: handler threw: {}", req.method, route.pattern, e.what());
  } catch (...) {
    spdlog::error("{} {}: handler threw", req.method, route.pattern);
  }
  return Reject(Fail(Reason::kInternal), &m);
}

}  // namespace iss::api
