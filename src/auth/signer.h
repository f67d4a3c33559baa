// SDK-HMAC-SHA256 (AK/SK) request signatures, byte-compatible with the cloud's official
// signers (see shared/docs/auth.md). Pure functions: used by the verifier and by tests.
#ifndef ISS_AUTH_SIGNER_H_
#define ISS_AUTH_SIGNER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::auth {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ParsedAuthorization {
  std::string access_key;
  std::vector<std::string> signed_headers;  // lower case, as listed
  std::string signed_headers_text;          // the list exactly as sent
  std::string signature;                    // lower-case hex
};

// Parses "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex".
absl::StatusOr<ParsedAuthorization> ParseAuthorization(std::string_view header);

// Percent-decodes the path, then encodes each segment (unreserved kept), ends with '/'.
std::string CanonicalUri(std::string_view raw_path);
std::string CanonicalQuery(std::string_view raw_query);

// The six-part canonical request; `body_hash` is hex SHA-256 of the body or the value of
// X-Sdk-Content-Sha256.
std::string CanonicalRequest(std::string_view method, std::string_view raw_path,
                             std::string_view raw_query, const Headers& headers,
                             const std::vector<std::string>& signed_headers,
                             std::string_view signed_headers_text, std::string_view body_hash);

std::string StringToSign(std::string_view sdk_date, std::string_view canonical_request);
std::string Sign(std::string_view secret_key, std::string_view string_to_sign);  // hex

// The X-Sdk-Date form of a time: "YYYYMMDDTHHMMSSZ" (UTC) for epoch seconds.
std::string SdkDate(int64_t epoch_s);

// First value of a header by case-insensitive name, or nullptr.
const std::string* FindHeader(const Headers& headers, std::string_view name);

}  // namespace iss::auth

#endif  // ISS_AUTH_SIGNER_H_
