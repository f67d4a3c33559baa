// The stored format of auth's identity records (the JSON under the "auth" namespace; see
// auth/identity_store.h for the keys): reading a record into its struct, and the helpers
// the operator changes use to rewrite a record in place (keeping fields they do not know).
//
//   ASSIGN_OR_RETURN(std::optional<UserRecord> u, ReadRecord(kv, "user/" + id, ToUser));
//
// Parsing never throws: a record that is not JSON, not an object, or has a field of another
// type is kCorrupt "(corrupt auth record KEY)". Thread-safe: functions of their arguments.
#ifndef ISS_AUTH_INTERNAL_RECORDS_H_
#define ISS_AUTH_INTERNAL_RECORDS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/identity_store.h"
#include "common/status_macros.h"
#include "store/kv.h"

namespace iss::auth::internal {

using json = nlohmann::json;

absl::Status Corrupt(const std::string& key);

// The record under `key`; nullopt when there is none.
absl::StatusOr<std::optional<json>> GetJson(const store::Kv& kv, const std::string& key);
// The value under an index key ("domain_by_name/..."); "" when there is none.
absl::StatusOr<std::string> Lookup(const store::Kv& kv, const std::string& key);

absl::StatusOr<UserRecord> ToUser(const json& j, const std::string& key);
absl::StatusOr<DomainRecord> ToDomain(const json& j, const std::string& key);
absl::StatusOr<Project> ToProject(const json& j, const std::string& key);
absl::StatusOr<KeyRecord> ToKey(const json& j, const std::string& key);

// The record under `key` as a T; nullopt when there is none.
template <typename T>
absl::StatusOr<std::optional<T>> ReadRecord(const store::Kv& kv, const std::string& key,
                                            absl::StatusOr<T> (*parse)(const json&,
                                                                       const std::string&)) {
  ASSIGN_OR_RETURN(std::optional<json> j, GetJson(kv, key));
  if (!j) return std::optional<T>();
  ASSIGN_OR_RETURN(T value, parse(*j, key));
  return std::optional<T>(std::move(value));
}

// The user record of `name` in the domain named `domain`, as stored, for a change that
// rewrites it; kIdentityNotFound when either is missing.
absl::StatusOr<json> NeedUser(const store::Kv& kv, const std::string& domain,
                              const std::string& name);
// A string field of a record object; "" when absent or not a string.
std::string Str(const json& j, const char* name);
// Whether a user record's "projects" lists `project_id`.
bool HasProject(const json& user, const std::string& project_id);

}  // namespace iss::auth::internal

#endif  // ISS_AUTH_INTERNAL_RECORDS_H_
