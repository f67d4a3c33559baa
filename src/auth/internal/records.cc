#include "auth/internal/records.h"

#include "auth/internal/json_fields.h"
#include "common/status.h"

namespace iss::auth::internal {

absl::Status Corrupt(const std::string& key) {
  return Fail(Reason::kCorrupt, "(corrupt auth record " + key + ")");
}

absl::StatusOr<std::optional<json>> GetJson(const store::Kv& kv, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, kv.Get(key));
  if (!v) return std::optional<json>();
  json j = json::parse(*v, nullptr, false);
  if (j.is_discarded()) return Corrupt(key);
  return std::optional<json>(std::move(j));
}

absl::StatusOr<std::string> Lookup(const store::Kv& kv, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, kv.Get(key));
  return v.value_or("");
}

absl::StatusOr<UserRecord> ToUser(const json& j, const std::string& key) {
  UserRecord u;
  if (!j.is_object() || !ReadField(j, "id", &u.id) || !ReadField(j, "name", &u.name) ||
      !ReadField(j, "domain_id", &u.domain_id) || !ReadField(j, "hash", &u.password_hash) ||
      !ReadField(j, "gen", &u.generation)) {
    return Corrupt(key);
  }
  if (auto op = j.find("operator"); op != j.end()) {
    if (!op->is_boolean()) return Corrupt(key);
    u.is_operator = op->get<bool>();
  }
  auto it = j.find("projects");
  if (it != j.end() && it->is_array()) {
    for (const json& p : *it) {
      if (p.is_string()) u.projects.push_back(p.get<std::string>());
    }
  }
  return u;
}

absl::StatusOr<DomainRecord> ToDomain(const json& j, const std::string& key) {
  DomainRecord d;
  if (!j.is_object() || !ReadField(j, "id", &d.id) || !ReadField(j, "name", &d.name))
    return Corrupt(key);
  return d;
}

absl::StatusOr<Project> ToProject(const json& j, const std::string& key) {
  Project p;
  if (!j.is_object() || !ReadField(j, "id", &p.id) || !ReadField(j, "name", &p.name) ||
      !ReadField(j, "domain_id", &p.domain_id)) {
    return Corrupt(key);
  }
  return p;
}

absl::StatusOr<KeyRecord> ToKey(const json& j, const std::string& key) {
  KeyRecord k;
  if (!j.is_object() || !ReadField(j, "ak", &k.ak) || !ReadField(j, "user_id", &k.user_id) ||
      !ReadField(j, "sk", &k.sealed_sk) || !ReadField(j, "created", &k.created_s)) {
    return Corrupt(key);
  }
  return k;
}

absl::StatusOr<json> NeedUser(const store::Kv& kv, const std::string& domain,
                              const std::string& name) {
  ASSIGN_OR_RETURN(std::string did, Lookup(kv, "domain_by_name/" + domain));
  if (did.empty()) return Fail(Reason::kIdentityNotFound, "(domain `" + domain + "`)");
  ASSIGN_OR_RETURN(std::string id, Lookup(kv, "user_by_name/" + did + "/" + name));
  std::optional<json> u;
  if (!id.empty()) {
    ASSIGN_OR_RETURN(u, GetJson(kv, "user/" + id));
  }
  if (!u) return Fail(Reason::kIdentityNotFound, "(user `" + name + "`)");
  if (!u->is_object()) return Corrupt("user/" + id);
  return *std::move(u);
}

std::string Str(const json& j, const char* name) {
  std::string out;
  ReadField(j, name, &out);
  return out;
}

bool HasProject(const json& user, const std::string& project_id) {
  auto it = user.find("projects");
  if (it == user.end() || !it->is_array()) return false;
  for (const auto& p : *it) {
    if (p.is_string() && p.get_ref<const std::string&>() == project_id) return true;
  }
  return false;
}

}  // namespace iss::auth::internal
