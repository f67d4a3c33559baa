// An AK/SK request: the first line is the Authorization header, the rest (split at
// newlines) the raw path, the raw query and header lines, as the verifier sees them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/signer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iss::auth;
  std::vector<std::string_view> lines;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty() && lines.size() < 16) {
    const size_t nl = in.find('\n');
    lines.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  if (lines.empty()) return 0;
  auto parsed = ParseAuthorization(lines[0]);
  const std::string_view path = lines.size() > 1 ? lines[1] : "/";
  const std::string_view query = lines.size() > 2 ? lines[2] : "";
  Headers headers;
  for (size_t i = 3; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(std::string(lines[i].substr(0, colon)),
                         std::string(lines[i].substr(colon + 1)));
  }
  (void)CanonicalUri(path);
  (void)CanonicalQuery(query);
  if (parsed.ok()) {
    for (const std::string& h : parsed->signed_headers) (void)FindHeader(headers, h);
    const std::string canonical =
        CanonicalRequest("POST", path, query, headers, parsed->signed_headers,
                         parsed->signed_headers_text, "UNSIGNED-PAYLOAD");
    (void)Sign("secret", StringToSign("20260101T000000Z", canonical));
  }
  return 0;
}
