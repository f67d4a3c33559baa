// API errors as values: an absl::Status that carries the exact API error code
// ("IS.2001", "APIG.0301", ...) as a payload, next to a canonical absl code.
//
//   return iss::Error("IS.2107");                       // default message from the table
//   return iss::Error("IS.2002", "JPEG data is truncated");  // message + detail
//   std::string code = iss::ApiCode(status);             // "IS.2002"; "IS.0009" if none
//
// The one table of codes (error.cc) also gives the HTTP status that api/ answers with;
// core/ and below never deal in HTTP numbers directly, they only pick the code.
// Thread-safe: pure functions over a constant table.
#ifndef ISS_COMMON_ERROR_H_
#define ISS_COMMON_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace iss {

struct ErrorInfo {
  std::string_view code;  // "IS.2001"
  int http_status;        // 400, 401, 404, 413, 429, 500 ...
  absl::StatusCode canonical;
  std::string_view message;  // the reference's English error_msg
};

// Looks up a code in the table; nullptr when unknown.
const ErrorInfo* FindError(std::string_view code);

// A status carrying `code`. The message is the table's message, followed by
// ": detail" when detail is non-empty. Unknown codes are a programming error and
// become IS.0009 (internal).
absl::Status Error(std::string_view code, std::string_view detail = {});

// The API code carried by `status`; for a status made elsewhere (library errors),
// a code derived from its canonical code (internal errors -> "IS.0009").
std::string ApiCode(const absl::Status& status);

// The HTTP status to answer `status` with (200 for OK).
int HttpStatusOf(const absl::Status& status);

}  // namespace iss

#endif  // ISS_COMMON_ERROR_H_
