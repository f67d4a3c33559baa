// A v1 request body: parsed as the handlers parse it, each typed field read, the result
// serialised again (invalid UTF-8 must be replaced, never thrown).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/v1/request_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iss::api::v1;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseObject(body, /*allow_empty=*/true);
  if (!parsed.ok()) return 0;
  for (const char* key : {"name", "path", "file", "model", "desc", "tags", "limit", "offset"}) {
    (void)OptionalString(*parsed, key);
    (void)OptionalStringArray(*parsed, key);
  }
  (void)Dump(*parsed);
  for (const auto& [k, v] : parsed->items()) {
    if (v.is_string()) (void)Utf8Length(v.get_ref<const std::string&>());
  }
  return 0;
}
