// Reads of JSON fields that never throw, for auth's stored records and token payloads.
//
//   std::string name;
//   if (!ReadField(record, "name", &name)) return Corrupt(key);  // present, not a string
//
// An absent field leaves `out` as it is (the caller's default); a field of another type
// returns false. Thread-safe: pure functions.
#ifndef ISS_AUTH_INTERNAL_JSON_FIELDS_H_
#define ISS_AUTH_INTERNAL_JSON_FIELDS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace iss::auth::internal {

inline bool ReadField(const nlohmann::json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

inline bool ReadField(const nlohmann::json& j, const char* name, int64_t* out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_number()) return false;
  *out = it->get<int64_t>();
  return true;
}

}  // namespace iss::auth::internal

#endif  // ISS_AUTH_INTERNAL_JSON_FIELDS_H_
