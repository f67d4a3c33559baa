#include "api/v1/request_json.h"

#include "api/v1/errors.h"

namespace iss::api::v1 {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxTags = 10;

// nlohmann's parser recurses per nesting level: refuse deep documents before parsing so
// a body of 30 MB of '[' cannot overflow the stack.
bool NestingTooDeep(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

const char* TypeName(const nlohmann::json& v) { return v.type_name(); }

absl::Status WrongType(const std::string& key, const char* want, const nlohmann::json& v) {
  return CodeError(Code("IS.0002"),
                   "(`" + key + "` must be " + want + ", got " + TypeName(v) + ")");
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseObject(std::string_view body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    return CodeError(Code("IS.0008"), "(the request body is empty; a JSON object is required)");
  }
  if (NestingTooDeep(body)) return CodeError(Code("IS.0008"), "(JSON nested too deeply)");
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return CodeError(Code("IS.0008"), "(the request body is not valid JSON)");
  if (!j.is_object()) return CodeError(Code("IS.0008"), "(the request body must be a JSON object)");
  return j;
}

absl::StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& obj,
                                                          const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return WrongType(key, "a string", *it);
  return std::optional<std::string>(it->get<std::string>());
}

absl::StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& obj,
                                                   const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > uint64_t(INT64_MAX)) return WrongType(key, "a 64-bit integer", *it);
    return std::optional<int64_t>(int64_t(u));
  }
  if (!it->is_number_integer()) return WrongType(key, "an integer", *it);
  return std::optional<int64_t>(it->get<int64_t>());
}

absl::StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& obj,
                                                 const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return WrongType(key, "a boolean", *it);
  return std::optional<bool>(it->get<bool>());
}

absl::StatusOr<std::optional<std::map<std::string, std::string>>> OptionalStringMap(
    const nlohmann::json& obj, const std::string& key, const WireCode& too_many_code) {
  using Map = std::map<std::string, std::string>;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<Map>();
  if (!it->is_object()) return WrongType(key, "an object of string values", *it);
  if (it->size() > kMaxTags) {
    return CodeError(too_many_code, "(" + std::to_string(it->size()) + " tags; at most 10)");
  }
  Map out;
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return WrongType(key + "." + k, "a string", v);
    if (k.empty()) return CodeError(Code("IS.0003"), "(a tag key in `" + key + "` is empty)");
    // Checked before a key or value is echoed in any message.
    if (Utf8Length(k) > kMaxTagLength) {
      return CodeError(Code("IS.1004"), "(a tag key in `" + key + "` is longer than " +
                                            std::to_string(kMaxTagLength) + " characters)");
    }
    std::string value = v.get<std::string>();
    if (Utf8Length(value) > kMaxTagLength) {
      return CodeError(Code("IS.1003"), "(the value of tag `" + k + "` is longer than " +
                                            std::to_string(kMaxTagLength) + " characters)");
    }
    out[k] = std::move(value);
  }
  return std::optional<Map>(std::move(out));
}

absl::StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(
    const nlohmann::json& obj, const std::string& key) {
  using Vec = std::vector<std::string>;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<Vec>();
  if (!it->is_array()) return WrongType(key, "an array of strings", *it);
  Vec out;
  for (const auto& v : *it) {
    if (!v.is_string()) return WrongType(key + "[]", "a string", v);
    out.push_back(v.get<std::string>());
  }
  return std::optional<Vec>(std::move(out));
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace iss::api::v1
