#include "auth/auth_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "auth/crypto.h"
#include "auth/signer.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "store/kv.h"

namespace iss::auth {
namespace {

using json = nlohmann::json;

std::string NewId() { return Hex(RandomBytes(16)); }

absl::Status AuthFail(const std::string& why) {
  return Fail(Reason::kUnauthenticated, "(" + why + ")");
}

// X-Sdk-Date "YYYYMMDDTHHMMSSZ" -> epoch seconds.
std::optional<int64_t> ParseSdkDate(const std::string& s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(6, 2));
  tm.tm_hour = std::stoi(s.substr(9, 2));
  tm.tm_min = std::stoi(s.substr(11, 2));
  tm.tm_sec = std::stoi(s.substr(13, 2));
  return int64_t(timegm(&tm));
}

}  // namespace

struct AuthService::Impl {
  AuthOptions options;
  store::Kv* kv;
  std::string seal_key, token_key;
  std::mutex admin_mu;  // serialises operator changes

  // Read-through cache of the records the per-request path reads ("user/", "domain/",
  // "key/" JSON and unsealed SKs), so that a signed request costs no database read and no
  // AES-GCM open. Every operator change bumps `epoch` and clears it; a reader inserts only
  // when the epoch it started under still holds, so a value read before a change is never
  // cached after it. Changes made by another process need the server stopped (admin CLI).
  mutable std::mutex cache_mu;
  mutable uint64_t epoch = 0;
  mutable std::unordered_map<std::string, std::shared_ptr<const json>> json_cache;
  mutable std::unordered_map<std::string, std::string> sk_cache;

  uint64_t Epoch() const {
    std::lock_guard<std::mutex> lock(cache_mu);
    return epoch;
  }
  void Invalidate() const {
    std::lock_guard<std::mutex> lock(cache_mu);
    ++epoch;
    json_cache.clear();
    sk_cache.clear();
  }
  // The record under `key`, shared and immutable; nullptr when there is none.
  absl::StatusOr<std::shared_ptr<const json>> CachedJson(const std::string& key) const {
    {
      std::lock_guard<std::mutex> lock(cache_mu);
      auto it = json_cache.find(key);
      if (it != json_cache.end()) return it->second;
    }
    const uint64_t start = Epoch();
    ASSIGN_OR_RETURN(std::optional<json> v, GetJson(key));
    if (!v) return std::shared_ptr<const json>();
    auto shared = std::make_shared<const json>(std::move(*v));
    std::lock_guard<std::mutex> lock(cache_mu);
    if (epoch == start) {
      if (json_cache.size() > 100000) json_cache.clear();  // bounded memory
      json_cache.emplace(key, shared);
    }
    return shared;
  }
  absl::StatusOr<std::string> UnsealedSk(const std::string& ak, const json& key) const {
    {
      std::lock_guard<std::mutex> lock(cache_mu);
      auto it = sk_cache.find(ak);
      if (it != sk_cache.end()) return it->second;
    }
    const uint64_t start = Epoch();
    ASSIGN_OR_RETURN(std::string sealed, Base64UrlDecode(key.value("sk", "")));
    ASSIGN_OR_RETURN(std::string sk, Open(seal_key, sealed));
    std::lock_guard<std::mutex> lock(cache_mu);
    if (epoch == start) {
      if (sk_cache.size() > 100000) sk_cache.clear();
      sk_cache.emplace(ak, sk);
    }
    return sk;
  }

  Impl(AuthOptions o, store::Kv* k, const std::string& server_key)
      : options(o),
        kv(k),
        seal_key(HmacSha256(server_key, "imagesearch seal key")),
        token_key(HmacSha256(server_key, "imagesearch token key")) {}

  absl::StatusOr<std::optional<json>> GetJson(const std::string& key) const {
    ASSIGN_OR_RETURN(std::optional<std::string> v, kv->Get(key));
    if (!v) return std::optional<json>();
    json j = json::parse(*v, nullptr, false);
    if (j.is_discarded()) return Fail(Reason::kCorrupt, "(corrupt auth record " + key + ")");
    return std::optional<json>(std::move(j));
  }
  absl::StatusOr<std::string> Lookup(const std::string& key) const {
    ASSIGN_OR_RETURN(std::optional<std::string> v, kv->Get(key));
    return v.value_or("");
  }
  absl::StatusOr<std::string> DomainId(const std::string& name) const {
    return Lookup("domain_by_name/" + name);
  }
  absl::StatusOr<std::optional<json>> UserByName(const std::string& domain_id,
                                                 const std::string& name) const {
    ASSIGN_OR_RETURN(std::string id, Lookup("user_by_name/" + domain_id + "/" + name));
    if (id.empty()) return std::optional<json>();
    return GetJson("user/" + id);
  }
  absl::StatusOr<json> NeedUser(const std::string& domain, const std::string& name) const {
    ASSIGN_OR_RETURN(std::string did, DomainId(domain));
    if (did.empty()) return Fail(Reason::kIdentityNotFound, "(domain `" + domain + "`)");
    ASSIGN_OR_RETURN(std::optional<json> u, UserByName(did, name));
    if (!u) return Fail(Reason::kIdentityNotFound, "(user `" + name + "`)");
    return *u;
  }

  absl::StatusOr<std::string> Mint(const std::string& user_id, const std::string& project_id,
                                   int64_t gen, int64_t iat, int64_t exp) const {
    std::string payload =
        json{{"u", user_id}, {"p", project_id}, {"g", gen}, {"iat", iat}, {"exp", exp}}.dump();
    std::string body = Base64UrlEncode(payload);
    return "ISS1." + body + "." + Base64UrlEncode(HmacSha256(token_key, body));
  }

  // A valid token's user record and project id.
  absl::StatusOr<std::pair<std::shared_ptr<const json>, std::string>> CheckToken(
      const std::string& token) const {
    if (token.empty()) return AuthFail("the token is empty");
    if (token.rfind("ISS1.", 0) != 0) return AuthFail("the token cannot be decrypted");
    size_t dot = token.find('.', 5);
    if (dot == std::string::npos) return AuthFail("the token cannot be decrypted");
    std::string body = token.substr(5, dot - 5);
    ASSIGN_OR_RETURN(std::string mac, Base64UrlDecode(token.substr(dot + 1)));
    if (!SafeEqual(mac, HmacSha256(token_key, body))) {
      return AuthFail("the token cannot be decrypted");
    }
    ASSIGN_OR_RETURN(std::string payload, Base64UrlDecode(body));
    json p = json::parse(payload, nullptr, false);
    if (p.is_discarded() || !p.is_object()) return AuthFail("the token cannot be decrypted");
    if (p.value("exp", int64_t{0}) <= options.clock->NowS())
      return AuthFail("the token has expired");
    ASSIGN_OR_RETURN(std::shared_ptr<const json> user, CachedJson("user/" + p.value("u", "")));
    if (!user) return AuthFail("the token's user no longer exists");
    if (user->value("gen", int64_t{0}) != p.value("g", int64_t{-1})) {
      return AuthFail("the token was revoked by a password change");
    }
    return std::make_pair(std::move(user), p.value("p", ""));
  }

  static bool Member(const json& user, const std::string& project_id) {
    auto it = user.find("projects");
    if (it == user.end() || !it->is_array()) return false;
    for (const auto& p : *it) {
      if (p.is_string() && p.get_ref<const std::string&>() == project_id) return true;
    }
    return false;
  }

  absl::StatusOr<auth::Principal> MakePrincipal(const json& user, const std::string& project_id,
                                                const std::string& credential) const {
    auth::Principal who;
    who.user_id = user.value("id", "");
    who.user_name = user.value("name", "");
    who.domain_id = user.value("domain_id", "");
    ASSIGN_OR_RETURN(std::shared_ptr<const json> d, CachedJson("domain/" + who.domain_id));
    if (d) who.domain_name = d->value("name", "");
    who.project_id = project_id;
    who.credential = credential;
    return who;
  }
};

AuthService::AuthService(AuthOptions options, store::Kv* kv, std::string server_key)
    : impl_(std::make_unique<Impl>(options, kv, server_key)) {}
AuthService::~AuthService() = default;

absl::StatusOr<Principal> AuthService::Authenticate(const RequestFacts& r,
                                                    std::string_view url_project) const {
  const Impl& m = *impl_;
  const std::string project(url_project);
  if (const std::string* token = FindHeader(r.headers, "X-Auth-Token")) {
    ASSIGN_OR_RETURN(auto checked, m.CheckToken(*token));
    const json& user = *checked.first;
    const std::string cred = "token:" + user.value("id", "");
    if (checked.second != project || !Impl::Member(user, project)) {
      return Fail(Reason::kPermissionDenied, "(the token is not scoped to this project)");
    }
    return m.MakePrincipal(user, project, cred);
  }
  const std::string* authz = FindHeader(r.headers, "Authorization");
  if (authz == nullptr) return AuthFail("no X-Auth-Token or Authorization header");
  ASSIGN_OR_RETURN(ParsedAuthorization a, ParseAuthorization(*authz));
  if (r.body.size() > m.options.max_signed_body) {
    return Fail(Reason::kPayloadTooLarge, "(signed requests may carry at most 12 MB; use a token)");
  }
  const std::string* date = FindHeader(r.headers, "X-Sdk-Date");
  if (date == nullptr) return AuthFail("X-Sdk-Date is missing");
  std::optional<int64_t> when = ParseSdkDate(*date);
  if (!when) return AuthFail("X-Sdk-Date is malformed");
  if (std::llabs(*when - m.options.clock->NowS()) > m.options.max_clock_skew_s) {
    return AuthFail("X-Sdk-Date is more than 15 minutes from the server's clock");
  }
  if (std::find(a.signed_headers.begin(), a.signed_headers.end(), "host") ==
      a.signed_headers.end()) {
    return AuthFail("Host must be signed");
  }
  for (const std::string& h : a.signed_headers) {
    if (FindHeader(r.headers, h) == nullptr)
      return AuthFail("signed header `" + h + "` is missing");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const json> key, m.CachedJson("key/" + a.access_key));
  if (!key) return AuthFail("the access key does not exist");
  ASSIGN_OR_RETURN(std::string sk, m.UnsealedSk(a.access_key, *key));
  std::string body_hash;
  if (const std::string* h = FindHeader(r.headers, "X-Sdk-Content-Sha256")) {
    body_hash = *h;
    if (body_hash != "UNSIGNED-PAYLOAD" && body_hash != Sha256Hex(r.body)) {
      return AuthFail("the body does not match X-Sdk-Content-Sha256");
    }
  } else {
    body_hash = Sha256Hex(r.body);
  }
  std::string canonical = CanonicalRequest(r.method, r.raw_path, r.raw_query, r.headers,
                                           a.signed_headers, a.signed_headers_text, body_hash);
  if (!SafeEqual(Sign(sk, StringToSign(*date, canonical)), a.signature)) {
    return AuthFail("the signature does not match");
  }
  const std::string cred = "ak:" + a.access_key;
  ASSIGN_OR_RETURN(std::shared_ptr<const json> user,
                   m.CachedJson("user/" + key->value("user_id", "")));
  if (!user) return AuthFail("the access key's user no longer exists");
  if (const std::string* pid = FindHeader(r.headers, "X-Project-Id")) {
    if (*pid != project)
      return Fail(Reason::kPermissionDenied, "(X-Project-Id differs from the URL)");
  }
  if (const std::string* did = FindHeader(r.headers, "X-Domain-Id")) {
    if (*did != user->value("domain_id", "")) return AuthFail("X-Domain-Id does not match");
  }
  if (!Impl::Member(*user, project)) {
    return Fail(Reason::kPermissionDenied, "(the key's user may not use this project)");
  }
  return m.MakePrincipal(*user, project, cred);
}

absl::StatusOr<TokenGrant> AuthService::IssueToken(const TokenRequest& q) const {
  const Impl& m = *impl_;
  std::string did = q.domain_id;
  if (did.empty()) {
    ASSIGN_OR_RETURN(did, m.DomainId(q.domain_name));
  }
  ASSIGN_OR_RETURN(std::optional<json> domain, m.GetJson("domain/" + did));
  std::optional<json> user;
  if (domain) {
    ASSIGN_OR_RETURN(user, m.UserByName(did, q.user_name));
  }
  // Same answer for an unknown domain, user or a wrong password; the hash is checked
  // even for unknown users so that timing does not tell them apart.
  static const std::string kDummy = *HashPassword("not a password");
  const bool ok =
      VerifyPassword(user ? user->value("hash", kDummy) : kDummy, q.password) && user.has_value();
  if (!ok) return AuthFail("the user name or password is wrong");
  std::string pid = q.project_id;
  if (pid.empty()) {
    ASSIGN_OR_RETURN(pid, m.Lookup("project_by_name/" + did + "/" + q.project_name));
  }
  ASSIGN_OR_RETURN(std::optional<json> project, m.GetJson("project/" + pid));
  if (!project || !Impl::Member(*user, pid)) {
    return Fail(Reason::kPermissionDenied, "(the user may not use that project)");
  }
  TokenGrant g;
  g.issued_at = m.options.clock->NowS();
  g.expires_at = g.issued_at + m.options.token_ttl_s;
  ASSIGN_OR_RETURN(g.token, m.Mint(user->value("id", ""), pid, user->value("gen", int64_t{0}),
                                   g.issued_at, g.expires_at));
  g.user_id = user->value("id", "");
  g.user_name = user->value("name", "");
  g.domain_id = did;
  g.domain_name = domain->value("name", "");
  g.project = Project{pid, project->value("name", ""), did};
  return g;
}

absl::StatusOr<std::vector<Project>> AuthService::ListProjects(const std::string& token,
                                                               const std::string& name) const {
  ASSIGN_OR_RETURN(auto checked, impl_->CheckToken(token));
  std::vector<Project> out;
  for (const auto& pid : checked.first->value("projects", json::array())) {
    ASSIGN_OR_RETURN(std::optional<json> p, impl_->GetJson("project/" + pid.get<std::string>()));
    if (!p) continue;
    Project pr{p->value("id", ""), p->value("name", ""), p->value("domain_id", "")};
    if (name.empty() || pr.name == name) out.push_back(pr);
  }
  return out;
}

absl::StatusOr<std::string> AuthService::MintToken(const std::string& user_id,
                                                   const std::string& project_id, int64_t iat,
                                                   int64_t exp) const {
  ASSIGN_OR_RETURN(std::optional<json> user, impl_->GetJson("user/" + user_id));
  if (!user) return Fail(Reason::kIdentityNotFound);
  return impl_->Mint(user_id, project_id, user->value("gen", int64_t{0}), iat, exp);
}

absl::StatusOr<std::string> AuthService::CreateDomain(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(std::string existing, impl_->DomainId(name));
  if (!existing.empty()) return existing;
  std::string id = NewId();
  RETURN_IF_ERROR(impl_->kv->Write(
      {{"domain/" + id, json{{"id", id}, {"name", name}}.dump()}, {"domain_by_name/" + name, id}}));
  return id;
}

absl::StatusOr<std::string> AuthService::CreateUser(const std::string& domain,
                                                    const std::string& name,
                                                    const std::string& password) {
  if (name.empty() || password.size() < 8) {
    return Fail(Reason::kInvalidArgument, "(a user name and a password of at least 8 characters)");
  }
  ASSIGN_OR_RETURN(std::string did, CreateDomain(domain));
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(std::optional<json> existing, impl_->UserByName(did, name));
  if (existing) return Fail(Reason::kIdentityExists, "(user `" + name + "` exists)");
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  std::string id = NewId();
  json u = {{"id", id},     {"name", name}, {"domain_id", did},
            {"hash", hash}, {"gen", 1},     {"projects", json::array()}};
  RETURN_IF_ERROR(
      impl_->kv->Write({{"user/" + id, u.dump()}, {"user_by_name/" + did + "/" + name, id}}));
  return id;
}

absl::Status AuthService::SetPassword(const std::string& domain, const std::string& name,
                                      const std::string& password) {
  if (password.size() < 8)
    return Fail(Reason::kInvalidArgument, "(passwords have at least 8 characters)");
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(json u, impl_->NeedUser(domain, name));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  u["hash"] = hash;
  u["gen"] = u.value("gen", int64_t{0}) + 1;  // ends every token issued before
  absl::Status written = impl_->kv->Put("user/" + u.value("id", ""), u.dump());
  impl_->Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::Status AuthService::DeleteUser(const std::string& domain, const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(json u, impl_->NeedUser(domain, name));
  std::vector<std::pair<std::string, std::optional<std::string>>> ops = {
      {"user/" + u.value("id", ""), std::nullopt},
      {"user_by_name/" + u.value("domain_id", "") + "/" + name, std::nullopt}};
  RETURN_IF_ERROR(impl_->kv->Scan("key/", [&](std::string_view k, std::string_view v) {
    json key = json::parse(v, nullptr, false);
    if (!key.is_discarded() && key.value("user_id", "") == u.value("id", "")) {
      ops.emplace_back(std::string(k), std::nullopt);
    }
    return true;
  }));
  absl::Status written = impl_->kv->Write(ops);
  impl_->Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::StatusOr<std::string> AuthService::CreateProject(const std::string& domain,
                                                       const std::string& name) {
  if (name.empty()) return Fail(Reason::kInvalidArgument, "(project name)");
  ASSIGN_OR_RETURN(std::string did, CreateDomain(domain));
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(std::string existing, impl_->Lookup("project_by_name/" + did + "/" + name));
  if (!existing.empty()) return existing;
  std::string id = NewId();
  RETURN_IF_ERROR(impl_->kv->Write(
      {{"project/" + id, json{{"id", id}, {"name", name}, {"domain_id", did}}.dump()},
       {"project_by_name/" + did + "/" + name, id}}));
  return id;
}

absl::Status AuthService::Grant(const std::string& domain, const std::string& user,
                                const std::string& project_name) {
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(json u, impl_->NeedUser(domain, user));
  ASSIGN_OR_RETURN(std::string pid, impl_->Lookup("project_by_name/" + u.value("domain_id", "") +
                                                  "/" + project_name));
  if (pid.empty()) return Fail(Reason::kInvalidArgument, "(no project `" + project_name + "`)");
  if (Impl::Member(u, pid)) return absl::OkStatus();
  u["projects"].push_back(pid);
  absl::Status written = impl_->kv->Put("user/" + u.value("id", ""), u.dump());
  impl_->Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::StatusOr<AccessKey> AuthService::CreateKey(const std::string& domain,
                                                 const std::string& user) {
  std::lock_guard<std::mutex> lock(impl_->admin_mu);
  ASSIGN_OR_RETURN(json u, impl_->NeedUser(domain, user));
  AccessKey k;
  static const char* kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string r = RandomBytes(20);
  for (unsigned char c : r) k.ak.push_back(kUpper[c % 36]);
  k.sk = Base64UrlEncode(RandomBytes(30));
  k.user_id = u.value("id", "");
  ASSIGN_OR_RETURN(std::string sealed, Seal(impl_->seal_key, k.sk));
  RETURN_IF_ERROR(impl_->kv->Put("key/" + k.ak, json{{"ak", k.ak},
                                                     {"user_id", k.user_id},
                                                     {"sk", Base64UrlEncode(sealed)},
                                                     {"created", impl_->options.clock->NowS()}}
                                                    .dump()));
  return k;
}

absl::StatusOr<std::vector<std::string>> AuthService::ListKeys(const std::string& domain,
                                                               const std::string& user) {
  ASSIGN_OR_RETURN(json u, impl_->NeedUser(domain, user));
  std::vector<std::string> out;
  RETURN_IF_ERROR(impl_->kv->Scan("key/", [&](std::string_view, std::string_view v) {
    json key = json::parse(v, nullptr, false);
    if (!key.is_discarded() && key.value("user_id", "") == u.value("id", "")) {
      out.push_back(key.value("ak", ""));
    }
    return true;
  }));
  return out;
}

absl::Status AuthService::DeleteKey(const std::string& ak) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, impl_->kv->Get("key/" + ak));
  if (!v) return Fail(Reason::kInvalidArgument, "(no access key `" + ak + "`)");
  absl::Status written = impl_->kv->Delete("key/" + ak);
  impl_->Invalidate();  // cached records and SKs may be stale now
  return written;
}

absl::StatusOr<BootstrapIdentity> AuthService::Bootstrap() {
  ASSIGN_OR_RETURN(std::optional<json> b, impl_->GetJson("bootstrap"));
  BootstrapIdentity id;
  if (b) {
    id.domain = b->value("domain", "");
    id.user = b->value("user", "");
    id.project_id = b->value("project_id", "");
    id.project_name = b->value("project_name", "");
    id.ak = b->value("ak", "");
    ASSIGN_OR_RETURN(std::string pw, Base64UrlDecode(b->value("password", "")));
    ASSIGN_OR_RETURN(id.password, Open(impl_->seal_key, pw));
    ASSIGN_OR_RETURN(std::optional<json> key, impl_->GetJson("key/" + id.ak));
    if (key) {
      ASSIGN_OR_RETURN(std::string sk, Base64UrlDecode(key->value("sk", "")));
      ASSIGN_OR_RETURN(id.sk, Open(impl_->seal_key, sk));
    }
    return id;
  }
  id.domain = "admin";
  id.user = "admin";
  id.project_name = "default";
  id.password = Base64UrlEncode(RandomBytes(18));
  RETURN_IF_ERROR(CreateUser(id.domain, id.user, id.password).status());
  ASSIGN_OR_RETURN(id.project_id, CreateProject(id.domain, id.project_name));
  RETURN_IF_ERROR(Grant(id.domain, id.user, id.project_name));
  ASSIGN_OR_RETURN(AccessKey key, CreateKey(id.domain, id.user));
  id.ak = key.ak;
  id.sk = key.sk;
  ASSIGN_OR_RETURN(std::string sealed_pw, Seal(impl_->seal_key, id.password));
  RETURN_IF_ERROR(impl_->kv->Put("bootstrap", json{{"domain", id.domain},
                                                   {"user", id.user},
                                                   {"password", Base64UrlEncode(sealed_pw)},
                                                   {"project_id", id.project_id},
                                                   {"project_name", id.project_name},
                                                   {"ak", id.ak}}
                                                  .dump()));
  return id;
}

absl::StatusOr<std::string> LoadOrCreateServerKey(const std::string& data_dir) {
  const std::string path = data_dir + "/server.key";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    std::string key = RandomBytes(32);
    bool ok = ::write(fd, key.data(), key.size()) == ssize_t(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Fail(Reason::kStorage, "(cannot write " + path + ")");
    return key;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  if (key.size() != 32) return Fail(Reason::kCorrupt, "(" + path + " is not a 32-byte key)");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return Fail(Reason::kStorage, "(" + path + " must be readable by its owner only: chmod 600)");
  }
  return key;
}

absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions& options,
                                                      store::Database* db,
                                                      const std::string& data_dir) {
  ASSIGN_OR_RETURN(store::Kv * kv, db->Namespace("auth"));
  ASSIGN_OR_RETURN(std::string key, LoadOrCreateServerKey(data_dir));
  return std::unique_ptr<AuthService>(new AuthService(options, kv, key));
}

}  // namespace iss::auth
