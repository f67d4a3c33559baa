// Image bytes: the header probe and the full decode, with the service's size limits (so a
// header claiming 60000x60000 must be refused before any pixel is allocated).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "features/image_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iss::features;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)SniffFormat(bytes);
  DecodeOptions options;
  options.min_side = 8;  // small images reach the decoder too
  options.max_side = 512;
  if (!ProbeImage(bytes, options).ok()) return 0;
  double scale = 0;
  (void)DecodeImage(bytes, options, &scale);
  options.min_decoded_side = 16;  // the DCT-scaled path
  (void)DecodeImage(bytes, options, &scale);
  return 0;
}
