#include "api/iam/routes.h"

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/http/rate_limiter.h"
#include "api/v1/errors.h"
#include "api/v1/request_json.h"
#include "auth/auth_service.h"
#include "auth/authenticator.h"
#include "common/status.h"

namespace iss::api::iam {
namespace {

using json = nlohmann::json;

std::string Iso8601(int64_t epoch_s) {
  std::time_t t = epoch_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buf;
}

const json* Path(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string Str(const json& j, std::initializer_list<const char*> keys) {
  const json* v = Path(j, keys);
  return v && v->is_string() ? v->get<std::string>() : "";
}

json ProjectJson(const auth::Project& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"domain_id", p.domain_id},
          {"parent_id", p.domain_id},
          {"is_domain", false},
          {"enabled", true},
          {"description", ""},
          {"links", {{"self", "/v3/projects/" + p.id}, {"next", nullptr}, {"previous", nullptr}}}};
}

// The token's service catalog: this server, as the image search endpoint of its region.
json Catalog(const IamOptions& options, const HttpRequest& r) {
  std::string url = options.public_url;
  if (url.empty()) {
    const std::string* host = r.Header("Host");
    url = std::string(r.secure ? "https://" : "http://") + (host ? *host : "localhost");
  }
  json endpoint = {{"id", "imagesearch-" + options.region},
                   {"interface", "public"},
                   {"region", options.region},
                   {"region_id", options.region},
                   {"url", url}};
  return json::array({{{"id", "imagesearch"},
                       {"name", "imagesearch"},
                       {"type", "imagesearch"},
                       {"endpoints", json::array({endpoint})}}});
}

// Token requests are limited by address and by user, and a user is never locked out for
// an address that did nothing wrong:
//  - every request from an address takes a token of that address's bucket;
//  - a failed login (unknown user, wrong password) takes a token of the (user, address)
//    bucket and of the user's bucket;
//  - an address whose (user, address) bucket is empty may not try that user;
//  - an empty user bucket (many failures from many addresses) refuses only the addresses
//    that failed for that user lately: an address with a clean record still logs in.
// So one address spraying names is stopped by its address bucket, a guesser of one user by
// its pair bucket, a botnet by the user bucket, and the user logs in from elsewhere.
struct LoginLimits {
  explicit LoginLimits(RateLimit limit)
      : by_address(limit), failures_by_pair(limit), failures_by_user(limit) {}
  RateLimiter by_address;
  RateLimiter failures_by_pair;
  RateLimiter failures_by_user;
};

HttpResponse IssueToken(auth::AuthService* auth, LoginLimits* limits, const IamOptions& options,
                        const HttpRequest& r) {
  if (!limits->by_address.Take("addr:" + r.remote_addr)) {
    return v1::RenderError(Fail(Reason::kRateLimited));
  }
  absl::StatusOr<json> parsed = v1::ParseObject(r.body, /*allow_empty=*/false);
  if (!parsed.ok()) {
    return v1::RenderError(v1::CodeError(v1::Code("IS.0008"), "(auth body)"));
  }
  const json& j = *parsed;
  const json* methods = Path(j, {"auth", "identity", "methods"});
  bool password_method = false;
  if (methods && methods->is_array()) {
    for (const auto& m : *methods) password_method |= m == "password";
  }
  if (!password_method) {
    return v1::RenderError(
        v1::CodeError(v1::Code("IS.0003"), "(auth.identity.methods must contain \"password\")"));
  }
  auth::TokenRequest q;
  q.user_name = Str(j, {"auth", "identity", "password", "user", "name"});
  q.password = Str(j, {"auth", "identity", "password", "user", "password"});
  q.domain_name = Str(j, {"auth", "identity", "password", "user", "domain", "name"});
  q.domain_id = Str(j, {"auth", "identity", "password", "user", "domain", "id"});
  q.project_name = Str(j, {"auth", "scope", "project", "name"});
  q.project_id = Str(j, {"auth", "scope", "project", "id"});
  if (q.user_name.empty() || q.password.empty() || (q.domain_name.empty() && q.domain_id.empty())) {
    return v1::RenderError(
        v1::CodeError(v1::Code("IS.0003"), "(user name, password and domain are required)"));
  }
  if (q.project_name.empty() && q.project_id.empty()) {
    return v1::RenderError(
        v1::CodeError(v1::Code("IS.0003"), "(a project scope by name or id is required)"));
  }
  // The user key names the domain too: "admin" of one domain is not "admin" of another.
  const std::string user = q.domain_id + "\n" + q.domain_name + "\n" + q.user_name;
  const std::string pair = user + "\n" + r.remote_addr;
  if (!limits->failures_by_pair.Has(pair) ||
      (!limits->failures_by_user.Has(user) && !limits->failures_by_pair.Full(pair))) {
    return v1::RenderError(Fail(Reason::kRateLimited));
  }
  absl::StatusOr<auth::TokenGrant> g = auth->IssueToken(q);
  if (!g.ok()) {
    if (Is(g.status(), Reason::kUnauthenticated) || Is(g.status(), Reason::kIdentityNotFound)) {
      limits->failures_by_pair.Take(pair);
      limits->failures_by_user.Take(user);
    }
    return v1::RenderError(g.status());
  }
  json domain = {{"id", g->domain_id}, {"name", g->domain_name}};
  json token = {{"expires_at", Iso8601(g->expires_at)},
                {"issued_at", Iso8601(g->issued_at)},
                {"methods", {"password"}},
                {"user",
                 {{"id", g->user_id},
                  {"name", g->user_name},
                  {"domain", domain},
                  {"password_expires_at", ""}}},
                {"project", {{"id", g->project.id}, {"name", g->project.name}, {"domain", domain}}},
                {"catalog", Catalog(options, r)},
                {"roles", json::array({{{"id", "0"}, {"name", "te_admin"}}})}};
  HttpResponse resp;
  resp.status = 201;
  resp.headers.emplace_back("X-Subject-Token", g->token);
  resp.body = v1::Dump(json{{"token", token}});
  return resp;
}

// The value of query parameter `key` ("" when absent), percent-decoded.
std::string QueryParam(const std::string& query, const std::string& key) {
  std::string value;
  for (size_t i = 0; i < query.size();) {
    size_t amp = query.find('&', i);
    std::string item = query.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
    if (item.rfind(key + "=", 0) == 0) PercentDecode(item.substr(key.size() + 1), &value);
    if (amp == std::string::npos) break;
    i = amp + 1;
  }
  return value;
}

// GET /v3/projects?name=NAME, GET /v3/auth/projects: the caller's projects (token or
// AK/SK signature: the SDKs sign this call to find their project id by region name).
HttpResponse ListProjects(auth::AuthService* auth, const Call& c) {
  if (c.principal == nullptr) return v1::RenderError(Fail(Reason::kUnauthenticated));
  absl::StatusOr<std::vector<auth::Project>> list =
      auth->ListProjects(c.principal->user_id, QueryParam(c.request.query, "name"));
  if (!list.ok()) return v1::RenderError(list.status());
  json arr = json::array();
  for (const auto& p : *list) arr.push_back(ProjectJson(p));
  HttpResponse resp;
  resp.body = v1::Dump(
      json{{"projects", arr},
           {"links", {{"self", "/v3/projects"}, {"next", nullptr}, {"previous", nullptr}}}});
  return resp;
}

// GET /v3/auth/domains: the caller's account (the SDKs' GlobalCredentials find their
// domain id with it).
HttpResponse ListDomains(const Call& c) {
  if (c.principal == nullptr) return v1::RenderError(Fail(Reason::kUnauthenticated));
  const auth::Principal& who = *c.principal;
  json d = {{"id", who.domain_id},
            {"name", who.domain_name},
            {"enabled", true},
            {"description", ""},
            {"links", {{"self", "/v3/domains/" + who.domain_id}}}};
  HttpResponse resp;
  resp.body = json{{"domains", json::array({d})}, {"links", {{"self", "/v3/auth/domains"}}}}.dump();
  return resp;
}

}  // namespace

void RegisterRoutes(Router* router, auth::AuthService* auth, const IamOptions& options) {
  // Shared by the handler copies; lives as long as the router's routes.
  auto logins = std::make_shared<LoginLimits>(options.login_limit);
  auto errors = [](const absl::Status& s) { return v1::RenderError(s); };
  router->Add(Route{
      .method = "POST",
      .pattern = "/v3/auth/tokens",
      .max_body_bytes = options.max_body_bytes,
      .handler = [auth, logins, options](
                     const Call& c) { return IssueToken(auth, logins.get(), options, c.request); },
      .errors = errors});
  // The reads the SDKs make before their first call, by token or AK/SK signature.
  for (const char* pattern : {"/v3/projects", "/v3/auth/projects"}) {
    router->Add(Route{.method = "GET",
                      .pattern = pattern,
                      .auth = AuthPolicy::kIdentity,
                      .handler = [auth](const Call& c) { return ListProjects(auth, c); },
                      .errors = errors});
  }
  router->Add(Route{.method = "GET",
                    .pattern = "/v3/auth/domains",
                    .auth = AuthPolicy::kIdentity,
                    .handler = [](const Call& c) { return ListDomains(c); },
                    .errors = errors});
}

}  // namespace iss::api::iam
