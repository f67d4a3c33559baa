#include "api/openapi/openapi.h"

#include <string>

namespace iss::api::openapi {
namespace internal {
extern const std::string_view kDocument;  // openapi_document.cc (generated)
}  // namespace internal

std::string_view Document() { return internal::kDocument; }

void RegisterRoutes(Router* router) {
  router->Add(Route{.method = "GET",
                    .pattern = "/openapi.json",
                    .auth = AuthPolicy::kPublic,
                    .handler = [](const Call&) {
                      HttpResponse r;
                      r.content_type = "application/json";
                      r.body = std::string(Document());
                      return r;
                    }});
}

}  // namespace iss::api::openapi
