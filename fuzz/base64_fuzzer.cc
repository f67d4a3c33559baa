// The `file` field of a request: Base64 of an image, as clients send it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/v1/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)iss::api::v1::DecodeBase64Image(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
