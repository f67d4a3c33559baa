// Base64 decoding of the `file` field, with the tolerance clients of the cloud API need.
//
//   ASSIGN_OR_RETURN(std::string bytes, v1::DecodeBase64Image(json_string));
//
// Accepted: the standard alphabet (RFC 4648 section 4), with or without '=' padding,
// with any ASCII whitespace (space, tab, CR, LF) anywhere, and an optional
// "data:<type>;base64," prefix. Refused with IS.2007: any other character (including the
// url-safe '-' and '_'), '=' anywhere but at the end, more than two '=', a padded length
// that is not a multiple of 4, a lone trailing character (length % 4 == 1), and input that
// decodes to nothing. See docs/api.md "Base64".
// Thread-safe: pure function.
#ifndef ISS_API_V1_BASE64_H_
#define ISS_API_V1_BASE64_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace iss::api::v1 {

absl::StatusOr<std::string> DecodeBase64Image(std::string_view text);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_BASE64_H_
