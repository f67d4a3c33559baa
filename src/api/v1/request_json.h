// Strict, non-throwing readers for fields of a JSON request body (nlohmann::json).
//
//   ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, /*allow_empty=*/false));
//   ASSIGN_OR_RETURN(std::optional<int64_t> limit, OptionalInt(body, "limit"));
//
// Codes: IS.0008 body is not JSON or not an object (or nests deeper than 64 levels);
// IS.0002 a field has the wrong JSON type; IS.0001 a required field is missing;
// IS.0003 a required field is present but empty. Thread-safe: pure functions.
#ifndef ISS_API_V1_REQUEST_JSON_H_
#define ISS_API_V1_REQUEST_JSON_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/v1/codes.h"

namespace iss::api::v1 {

// Parses `body` as a JSON object. Empty (or whitespace-only) bodies give {} when
// allow_empty, IS.0008 otherwise.
absl::StatusOr<nlohmann::json> ParseObject(std::string_view body, bool allow_empty);

// nullopt when the field is absent or null.
absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& obj,
                                                          const std::string& key);
absl::StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& obj,
                                                   const std::string& key);
absl::StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& obj, const std::string& key);
// Tag names (instance tags, image tag keys) and tag values: at most this many characters
// (docs/api.md, "Limits"; the cloud's successor API allows 64-character values).
inline constexpr size_t kMaxTagLength = 64;  // == model::kMaxTagValueChars (jobs_routes.cc)

// An object of string -> string (image tags). `too_many_code` when it has more than 10 keys;
// a key longer than kMaxTagLength is IS.1004 (no instance tag is that long), a value
// longer than kMaxTagLength IS.1003.
absl::StatusOr<std::optional<std::map<std::string, std::string>>> OptionalStringMap(
    const nlohmann::json& obj, const std::string& key, const WireCode& too_many_code);
// An array of strings (instance tag names).
absl::StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(
    const nlohmann::json& obj, const std::string& key);

// Number of Unicode code points in UTF-8 text (the unit of length limits).
size_t Utf8Length(std::string_view s);

// The JSON text of `value` (invalid UTF-8 replaced, never throws).
std::string Dump(const nlohmann::json& value);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_REQUEST_JSON_H_
