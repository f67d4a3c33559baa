// A request path: routed through a table shaped like the server's (literal segments
// outrank parameters), each parameter checked as the pipeline checks it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iss::api;
  static const Router* router = [] {
    auto* r = new Router();
    for (const char* p :
         {"/v1/{project_id}/service", "/v1/{project_id}/service/{instance_name}",
          "/v1/{project_id}/{instance_name}/image", "/v1/{project_id}/{instance_name}/image/search",
          "/health", "/v3/auth/tokens"}) {
      r->Add("POST", p, [](const Call&) { return HttpResponse{}; });
    }
    return r;
  }();
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  std::string decoded;
  if (PercentDecode(path, &decoded)) (void)IsValidUtf8(decoded);
  Router::Match m = router->Find("POST", path);
  for (const auto& [name, value] : m.params) (void)IsValidUtf8(value);
  return 0;
}
