// The one place where a failed absl::Status becomes an HTTP answer:
// status from iss::HttpStatusOf, body {"error_code": "...", "error_msg": "..."} serialised
// with nlohmann::json (never concatenated), Retry-After on APIG.0308.
// Thread-safe: pure functions.
#ifndef ISS_API_ERROR_RESPONSE_H_
#define ISS_API_ERROR_RESPONSE_H_

#include <string>

#include "absl/status/status.h"
#include "api/http_types.h"

namespace iss::api {

// REQUIRES: !status.ok().
HttpResponse ErrorResponse(const absl::Status& status);

// {"error_code": code, "error_msg": <table message + detail>}.
HttpResponse ErrorResponse(const std::string& code, const std::string& detail = "");

}  // namespace iss::api

#endif  // ISS_API_ERROR_RESPONSE_H_
