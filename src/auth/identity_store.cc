#include "auth/identity_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "auth/crypto.h"
#include "auth/internal/json_fields.h"
#include "auth/internal/records.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "store/kv.h"

namespace iss::auth {
namespace {

using internal::Corrupt;
using internal::GetJson;
using internal::HasProject;
using internal::json;
using internal::Lookup;
using internal::NeedUser;
using internal::ReadField;
using internal::ReadRecord;
using internal::Str;
using internal::ToDomain;
using internal::ToKey;
using internal::ToProject;
using internal::ToUser;

constexpr size_t kMaxCached = 100000;  // per map: bounded memory under key floods

std::string NewId() { return Hex(RandomBytes(16)); }

template <typename T>
absl::StatusOr<std::shared_ptr<const T>> Shared(absl::StatusOr<std::optional<T>> read) {
  if (!read.ok()) return read.status();
  if (!read->has_value()) return std::shared_ptr<const T>();
  return std::make_shared<const T>(std::move(**read));
}

template <typename T>
bool Present(const std::shared_ptr<const T>& v) {
  return v != nullptr;
}
bool Present(const std::string&) { return true; }

}  // namespace

bool UserRecord::MayUse(std::string_view project_id) const {
  for (const std::string& p : projects) {
    if (p == project_id) return true;
  }
  return false;
}

IdentityStore::IdentityStore(store::Kv* kv, std::string_view server_key, const Clock* clock)
    : kv_(kv), seal_key_(HmacSha256(server_key, "imagesearch seal key")), clock_(clock) {}

// Read-through: a hit costs no database read and no AES-GCM open. A value is inserted only
// when no change happened since the read began (the epoch it started under still holds),
// so a value read before a change is never cached after it. Absent records are not cached
// (creating one needs no invalidation). Changes made by another process need the server
// stopped (the admin CLI).
template <typename V, typename Pick, typename Load>
absl::StatusOr<V> IdentityStore::ReadThrough(const std::string& key, Pick pick, Load load) const {
  uint64_t start;
  {
    iss::MutexLock lock(&cache_mu_);
    auto& map = pick(cache_);
    auto it = map.find(key);
    if (it != map.end()) return it->second;
    start = cache_.epoch;
  }
  ASSIGN_OR_RETURN(V value, load());
  if (!Present(value)) return value;
  iss::MutexLock lock(&cache_mu_);
  if (cache_.epoch == start) {
    auto& map = pick(cache_);
    if (map.size() > kMaxCached) map.clear();
    map.emplace(key, value);
  }
  return value;
}

void IdentityStore::Invalidate() const {
  iss::MutexLock lock(&cache_mu_);
  ++cache_.epoch;
  cache_.users.clear();
  cache_.domains.clear();
  cache_.keys.clear();
  cache_.sks.clear();
}

absl::StatusOr<std::shared_ptr<const UserRecord>> IdentityStore::User(const std::string& id) const {
  return ReadThrough<std::shared_ptr<const UserRecord>>(
      id, [](Cache & c) -> auto& { return c.users; },
      [&] { return Shared(ReadRecord<UserRecord>(*kv_, "user/" + id, ToUser)); });
}

absl::StatusOr<std::shared_ptr<const DomainRecord>> IdentityStore::Domain(
    const std::string& id) const {
  return ReadThrough<std::shared_ptr<const DomainRecord>>(
      id, [](Cache & c) -> auto& { return c.domains; },
      [&] { return Shared(ReadRecord<DomainRecord>(*kv_, "domain/" + id, ToDomain)); });
}

absl::StatusOr<std::shared_ptr<const KeyRecord>> IdentityStore::Key(const std::string& ak) const {
  return ReadThrough<std::shared_ptr<const KeyRecord>>(
      ak, [](Cache & c) -> auto& { return c.keys; },
      [&] { return Shared(ReadRecord<KeyRecord>(*kv_, "key/" + ak, ToKey)); });
}

absl::StatusOr<std::string> IdentityStore::SecretKey(const KeyRecord& key) const {
  return ReadThrough<std::string>(
      key.ak, [](Cache & c) -> auto& { return c.sks; },
      [&]() -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(std::string sealed, Base64UrlDecode(key.sealed_sk));
        return Open(seal_key_, sealed);
      });
}

absl::StatusOr<std::string> IdentityStore::DomainIdByName(const std::string& name) const {
  return Lookup(*kv_, "domain_by_name/" + name);
}

absl::StatusOr<std::string> IdentityStore::ProjectIdByName(const std::string& domain_id,
                                                           const std::string& name) const {
  return Lookup(*kv_, "project_by_name/" + domain_id + "/" + name);
}

absl::StatusOr<std::optional<UserRecord>> IdentityStore::UserByName(const std::string& domain_id,
                                                                    const std::string& name) const {
  ASSIGN_OR_RETURN(std::string id, Lookup(*kv_, "user_by_name/" + domain_id + "/" + name));
  if (id.empty()) return std::optional<UserRecord>();
  return ReadRecord<UserRecord>(*kv_, "user/" + id, ToUser);
}

absl::StatusOr<std::optional<Project>> IdentityStore::FindProject(const std::string& id) const {
  return ReadRecord<Project>(*kv_, "project/" + id, ToProject);
}

absl::StatusOr<std::vector<UserSummary>> IdentityStore::ListUsers() const {
  std::vector<UserSummary> users;
  absl::Status bad;
  RETURN_IF_ERROR(kv_->Scan("user/", [&](std::string_view k, std::string_view v) {
    json j = json::parse(v, nullptr, false);
    absl::StatusOr<UserRecord> u = ToUser(j, std::string(k));
    if (!u.ok()) {
      bad = u.status();
      return false;
    }
    u->password_hash.clear();
    users.push_back({*std::move(u), "", {}});
    return true;
  }));
  RETURN_IF_ERROR(bad);
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < users.size(); ++i) {
    by_id[users[i].user.id] = i;
    ASSIGN_OR_RETURN(std::shared_ptr<const DomainRecord> d, Domain(users[i].user.domain_id));
    if (d) users[i].domain = d->name;
  }
  RETURN_IF_ERROR(kv_->Scan("key/", [&](std::string_view, std::string_view v) {
    json key = json::parse(v, nullptr, false);
    if (key.is_discarded() || !key.is_object()) return true;
    auto it = by_id.find(Str(key, "user_id"));
    if (it != by_id.end()) users[it->second].keys.push_back(Str(key, "ak"));
    return true;
  }));
  std::sort(users.begin(), users.end(), [](const UserSummary& a, const UserSummary& b) {
    return std::tie(a.domain, a.user.name) < std::tie(b.domain, b.user.name);
  });
  return users;
}

absl::StatusOr<std::vector<Project>> IdentityStore::ListAllProjects() const {
  std::vector<Project> projects;
  absl::Status bad;
  RETURN_IF_ERROR(kv_->Scan("project/", [&](std::string_view k, std::string_view v) {
    absl::StatusOr<Project> p = ToProject(json::parse(v, nullptr, false), std::string(k));
    if (!p.ok()) {
      bad = p.status();
      return false;
    }
    projects.push_back(*std::move(p));
    return true;
  }));
  RETURN_IF_ERROR(bad);
  std::sort(projects.begin(), projects.end(), [](const Project& a, const Project& b) {
    return std::tie(a.domain_id, a.name) < std::tie(b.domain_id, b.name);
  });
  return projects;
}

absl::StatusOr<std::string> IdentityStore::CreateDomain(const std::string& name) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(std::string existing, DomainIdByName(name));
  if (!existing.empty()) return existing;
  std::string id = NewId();
  RETURN_IF_ERROR(kv_->Write(
      {{"domain/" + id, json{{"id", id}, {"name", name}}.dump()}, {"domain_by_name/" + name, id}}));
  return id;
}

absl::StatusOr<std::string> IdentityStore::CreateUser(const std::string& domain,
                                                      const std::string& name,
                                                      const std::string& password,
                                                      bool is_operator) {
  if (name.empty() || password.size() < 8) {
    return Fail(Reason::kInvalidArgument, "(a user name and a password of at least 8 characters)");
  }
  ASSIGN_OR_RETURN(std::string did, CreateDomain(domain));
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(std::string existing, Lookup(*kv_, "user_by_name/" + did + "/" + name));
  if (!existing.empty()) {
    ASSIGN_OR_RETURN(std::optional<json> u, GetJson(*kv_, "user/" + existing));
    if (u) return Fail(Reason::kIdentityExists, "(user `" + name + "` exists)");
  }
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  std::string id = NewId();
  json u = {{"id", id},     {"name", name}, {"domain_id", did},
            {"hash", hash}, {"gen", 1},     {"projects", json::array()}};
  if (is_operator) u["operator"] = true;
  RETURN_IF_ERROR(kv_->Write({{"user/" + id, u.dump()}, {"user_by_name/" + did + "/" + name, id}}));
  return id;
}

absl::Status IdentityStore::SetPassword(const std::string& domain, const std::string& name,
                                        const std::string& password) {
  if (password.size() < 8) {
    return Fail(Reason::kInvalidArgument, "(passwords have at least 8 characters)");
  }
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, name));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  int64_t gen = 0;
  ReadField(u, "gen", &gen);
  u["hash"] = hash;
  u["gen"] = gen + 1;  // ends every token issued before
  absl::Status written = kv_->Put("user/" + Str(u, "id"), u.dump());
  Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::Status IdentityStore::SetOperator(const std::string& domain, const std::string& name,
                                        bool is_operator) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, name));
  auto it = u.find("operator");
  if ((it != u.end() && it->is_boolean() && it->get<bool>()) == is_operator) {
    return absl::OkStatus();
  }
  if (is_operator) {
    u["operator"] = true;
  } else {
    u.erase("operator");
  }
  absl::Status written = kv_->Put("user/" + Str(u, "id"), u.dump());
  Invalidate();  // cached records may be stale now
  return written;
}

absl::Status IdentityStore::DeleteUser(const std::string& domain, const std::string& name) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, name));
  const std::string id = Str(u, "id");
  std::vector<std::pair<std::string, std::optional<std::string>>> ops = {
      {"user/" + id, std::nullopt},
      {"user_by_name/" + Str(u, "domain_id") + "/" + name, std::nullopt}};
  RETURN_IF_ERROR(kv_->Scan("key/", [&](std::string_view k, std::string_view v) {
    json key = json::parse(v, nullptr, false);
    if (!key.is_discarded() && key.is_object() && Str(key, "user_id") == id) {
      ops.emplace_back(std::string(k), std::nullopt);
    }
    return true;
  }));
  absl::Status written = kv_->Write(ops);
  Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::StatusOr<std::string> IdentityStore::CreateProject(const std::string& domain,
                                                         const std::string& name) {
  if (name.empty()) return Fail(Reason::kInvalidArgument, "(project name)");
  ASSIGN_OR_RETURN(std::string did, CreateDomain(domain));
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(std::string existing, ProjectIdByName(did, name));
  if (!existing.empty()) return existing;
  std::string id = NewId();
  RETURN_IF_ERROR(
      kv_->Write({{"project/" + id, json{{"id", id}, {"name", name}, {"domain_id", did}}.dump()},
                  {"project_by_name/" + did + "/" + name, id}}));
  return id;
}

absl::Status IdentityStore::Grant(const std::string& domain, const std::string& user,
                                  const std::string& project_name) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, user));
  ASSIGN_OR_RETURN(std::string pid, ProjectIdByName(Str(u, "domain_id"), project_name));
  if (pid.empty()) return Fail(Reason::kInvalidArgument, "(no project `" + project_name + "`)");
  if (HasProject(u, pid)) return absl::OkStatus();
  if (!u["projects"].is_array()) u["projects"] = json::array();
  u["projects"].push_back(pid);
  absl::Status written = kv_->Put("user/" + Str(u, "id"), u.dump());
  Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::Status IdentityStore::Revoke(const std::string& domain, const std::string& user,
                                   const std::string& project_name) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, user));
  ASSIGN_OR_RETURN(std::string pid, ProjectIdByName(Str(u, "domain_id"), project_name));
  if (pid.empty()) return Fail(Reason::kInvalidArgument, "(no project `" + project_name + "`)");
  if (!HasProject(u, pid)) return absl::OkStatus();
  json kept = json::array();
  for (const json& p : u["projects"]) {
    if (!(p.is_string() && p.get<std::string>() == pid)) kept.push_back(p);
  }
  u["projects"] = std::move(kept);
  absl::Status written = kv_->Put("user/" + Str(u, "id"), u.dump());
  Invalidate();  // cached records may be stale now
  return written;
}

absl::StatusOr<AccessKey> IdentityStore::CreateKey(const std::string& domain,
                                                   const std::string& user) {
  iss::MutexLock lock(&admin_mu_);
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, user));
  AccessKey k;
  static const char* kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string r = RandomBytes(20);
  for (unsigned char c : r) k.ak.push_back(kUpper[c % 36]);
  k.sk = Base64UrlEncode(RandomBytes(30));
  k.user_id = Str(u, "id");
  ASSIGN_OR_RETURN(std::string sealed, Seal(seal_key_, k.sk));
  RETURN_IF_ERROR(kv_->Put("key/" + k.ak, json{{"ak", k.ak},
                                               {"user_id", k.user_id},
                                               {"sk", Base64UrlEncode(sealed)},
                                               {"created", clock_->NowS()}}
                                              .dump()));
  return k;
}

absl::StatusOr<std::vector<std::string>> IdentityStore::ListKeys(const std::string& domain,
                                                                 const std::string& user) const {
  ASSIGN_OR_RETURN(json u, NeedUser(*kv_, domain, user));
  const std::string id = Str(u, "id");
  std::vector<std::string> out;
  RETURN_IF_ERROR(kv_->Scan("key/", [&](std::string_view, std::string_view v) {
    json key = json::parse(v, nullptr, false);
    if (!key.is_discarded() && key.is_object() && Str(key, "user_id") == id) {
      out.push_back(Str(key, "ak"));
    }
    return true;
  }));
  return out;
}

absl::Status IdentityStore::DeleteKey(const std::string& ak) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, kv_->Get("key/" + ak));
  if (!v) return Fail(Reason::kInvalidArgument, "(no access key `" + ak + "`)");
  absl::Status written = kv_->Delete("key/" + ak);
  Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::StatusOr<std::optional<BootstrapIdentity>> IdentityStore::ReadBootstrap() const {
  ASSIGN_OR_RETURN(std::optional<json> b, GetJson(*kv_, "bootstrap"));
  if (!b) return std::optional<BootstrapIdentity>();
  BootstrapIdentity id;
  std::string sealed_password;
  if (!b->is_object() || !ReadField(*b, "domain", &id.domain) || !ReadField(*b, "user", &id.user) ||
      !ReadField(*b, "project_id", &id.project_id) ||
      !ReadField(*b, "project_name", &id.project_name) || !ReadField(*b, "ak", &id.ak) ||
      !ReadField(*b, "password", &sealed_password)) {
    return Corrupt("bootstrap");
  }
  ASSIGN_OR_RETURN(std::string pw, Base64UrlDecode(sealed_password));
  ASSIGN_OR_RETURN(id.password, Open(seal_key_, pw));
  ASSIGN_OR_RETURN(std::optional<KeyRecord> key,
                   ReadRecord<KeyRecord>(*kv_, "key/" + id.ak, ToKey));
  if (key) {
    ASSIGN_OR_RETURN(std::string sk, Base64UrlDecode(key->sealed_sk));
    ASSIGN_OR_RETURN(id.sk, Open(seal_key_, sk));
  }
  return std::optional<BootstrapIdentity>(std::move(id));
}

absl::Status IdentityStore::WriteBootstrap(const BootstrapIdentity& id) {
  ASSIGN_OR_RETURN(std::string sealed_pw, Seal(seal_key_, id.password));
  return kv_->Put("bootstrap", json{{"domain", id.domain},
                                    {"user", id.user},
                                    {"password", Base64UrlEncode(sealed_pw)},
                                    {"project_id", id.project_id},
                                    {"project_name", id.project_name},
                                    {"ak", id.ak}}
                                   .dump());
}

absl::Status IdentityStore::EnsureBootstrapOperator() {
  ASSIGN_OR_RETURN(std::optional<json> b, GetJson(*kv_, "bootstrap"));
  if (!b) return absl::OkStatus();
  std::string domain, user;
  if (!b->is_object() || !ReadField(*b, "domain", &domain) || !ReadField(*b, "user", &user)) {
    return Corrupt("bootstrap");
  }
  absl::Status made = SetOperator(domain, user, true);
  if (Is(made, Reason::kIdentityNotFound)) return absl::OkStatus();  // deleted since
  return made;
}

}  // namespace iss::auth
