#include "api/http/cors.h"

#include <algorithm>
#include <utility>

namespace iss::api {

Cors::Cors(std::vector<std::string> allowed_origins) : origins_(std::move(allowed_origins)) {
  any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

std::string Cors::AllowedOrigin(const HttpRequest& request) const {
  if (origins_.empty()) return "";
  const std::string* origin = request.Header("Origin");
  if (origin == nullptr || origin->empty()) return "";
  if (any_) return "*";
  return std::find(origins_.begin(), origins_.end(), *origin) != origins_.end() ? *origin : "";
}

std::optional<HttpResponse> Cors::Preflight(const HttpRequest& request,
                                            const Router::Match& match) const {
  if (request.method != "OPTIONS" || request.Header("Access-Control-Request-Method") == nullptr) {
    return std::nullopt;
  }
  const std::string origin = AllowedOrigin(request);
  if (origin.empty() || (match.route == nullptr && !match.path_matched)) return std::nullopt;
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  r.headers = {{"Access-Control-Allow-Origin", origin},
               {"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE"},
               {"Access-Control-Allow-Headers",
                "Content-Type, X-Auth-Token, X-Sdk-Date, Authorization, X-Project-Id, "
                "X-Request-Id"},
               {"Access-Control-Max-Age", "600"},
               {"Vary", "Origin"}};
  return r;
}

void Cors::Apply(const HttpRequest& request, HttpResponse* response) const {
  const std::string origin = AllowedOrigin(request);
  if (origin.empty()) return;
  response->headers.emplace_back("Access-Control-Allow-Origin", origin);
  response->headers.emplace_back("Access-Control-Expose-Headers",
                                 "X-Request-Id, X-Subject-Token, Retry-After");
  if (origin != "*") response->headers.emplace_back("Vary", "Origin");
}

}  // namespace iss::api
