#include "auth/auth_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "auth/crypto.h"
#include "auth/signer.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "store/kv.h"

namespace iss::auth {
namespace {

absl::Status Refuse(const std::string& why) {
  return Fail(Reason::kUnauthenticated, "(" + why + ")");
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

}  // namespace

AuthService::AuthService(const AuthOptions& options, store::Kv* kv, const std::string& server_key)
    : options_(options),
      identities_(kv, server_key, options.clock),
      tokens_(server_key, options.clock),
      verifier_(&identities_, SignatureOptions{options.max_clock_skew_s, options.max_signed_body},
                options.clock) {}

AuthService::~AuthService() = default;

absl::StatusOr<AuthService::Caller> AuthService::CheckToken(const std::string& token) const {
  ASSIGN_OR_RETURN(TokenClaims claims, tokens_.Check(token));
  ASSIGN_OR_RETURN(std::shared_ptr<const UserRecord> user, identities_.User(claims.user_id));
  if (!user) return Refuse("the token's user no longer exists");
  if (user->generation != claims.generation) {
    return Refuse("the token was revoked by a password change");
  }
  std::string credential = "token:" + user->id;
  return Caller{std::move(user), std::move(claims.project_id), std::move(credential)};
}

absl::StatusOr<AuthService::Caller> AuthService::CheckSignature(
    const RequestFacts& r, const std::string& authorization) const {
  ASSIGN_OR_RETURN(VerifiedKey key, verifier_.Verify(r, authorization));
  ASSIGN_OR_RETURN(std::shared_ptr<const UserRecord> user, identities_.User(key.user_id));
  if (!user) return Refuse("the access key's user no longer exists");
  return Caller{std::move(user), "", "ak:" + key.access_key};
}

absl::StatusOr<Principal> AuthService::MakePrincipal(const UserRecord& user,
                                                     const std::string& project_id,
                                                     const std::string& credential) const {
  Principal who;
  who.user_id = user.id;
  who.user_name = user.name;
  who.domain_id = user.domain_id;
  ASSIGN_OR_RETURN(std::shared_ptr<const DomainRecord> d, identities_.Domain(who.domain_id));
  if (d) who.domain_name = d->name;
  who.project_id = project_id;
  who.credential = credential;
  who.is_operator = user.is_operator;
  return who;
}

absl::StatusOr<Principal> AuthService::Authenticate(const RequestFacts& r,
                                                    std::string_view url_project) const {
  const std::string project(url_project);
  if (const std::string* token = FindHeader(r.headers, "X-Auth-Token")) {
    ASSIGN_OR_RETURN(Caller c, CheckToken(*token));
    if (c.project_id != project || !c.user->MayUse(project)) {
      return Fail(Reason::kPermissionDenied, "(the token is not scoped to this project)");
    }
    return MakePrincipal(*c.user, project, c.credential);
  }
  const std::string* authz = FindHeader(r.headers, "Authorization");
  if (authz == nullptr) return Refuse("no X-Auth-Token or Authorization header");
  ASSIGN_OR_RETURN(Caller c, CheckSignature(r, *authz));
  if (const std::string* pid = FindHeader(r.headers, "X-Project-Id")) {
    if (*pid != project) {
      return Fail(Reason::kPermissionDenied, "(X-Project-Id differs from the URL)");
    }
  }
  if (const std::string* did = FindHeader(r.headers, "X-Domain-Id")) {
    if (*did != c.user->domain_id) return Refuse("X-Domain-Id does not match");
  }
  if (!c.user->MayUse(project)) {
    return Fail(Reason::kPermissionDenied, "(the key's user may not use this project)");
  }
  return MakePrincipal(*c.user, project, c.credential);
}

absl::StatusOr<Principal> AuthService::AuthenticateIdentity(const RequestFacts& r) const {
  if (const std::string* token = FindHeader(r.headers, "X-Auth-Token")) {
    ASSIGN_OR_RETURN(Caller c, CheckToken(*token));
    return MakePrincipal(*c.user, "", c.credential);
  }
  const std::string* authz = FindHeader(r.headers, "Authorization");
  if (authz == nullptr) return Refuse("no X-Auth-Token or Authorization header");
  ASSIGN_OR_RETURN(Caller c, CheckSignature(r, *authz));
  if (const std::string* did = FindHeader(r.headers, "X-Domain-Id")) {
    if (*did != c.user->domain_id) return Refuse("X-Domain-Id does not match");
  }
  return MakePrincipal(*c.user, "", c.credential);
}

absl::StatusOr<TokenGrant> AuthService::IssueToken(const TokenRequest& q) const {
  std::string did = q.domain_id;
  if (did.empty()) {
    ASSIGN_OR_RETURN(did, identities_.DomainIdByName(q.domain_name));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const DomainRecord> domain, identities_.Domain(did));
  std::optional<UserRecord> user;
  if (domain) {
    ASSIGN_OR_RETURN(user, identities_.UserByName(did, q.user_name));
  }
  // Same answer for an unknown domain, user or a wrong password; the hash is checked
  // even for unknown users so that timing does not tell them apart.
  static const std::string kDummy = *HashPassword("not a password");
  const bool has_hash = user && !user->password_hash.empty();
  const bool ok = VerifyPassword(has_hash ? user->password_hash : kDummy, q.password) && has_hash;
  if (!ok) return Refuse("the user name or password is wrong");
  std::string pid = q.project_id;
  if (pid.empty()) {
    ASSIGN_OR_RETURN(pid, identities_.ProjectIdByName(did, q.project_name));
  }
  ASSIGN_OR_RETURN(std::optional<Project> project, identities_.FindProject(pid));
  if (!project || !user->MayUse(pid)) {
    return Fail(Reason::kPermissionDenied, "(the user may not use that project)");
  }
  TokenGrant g;
  g.issued_at = options_.clock->NowS();
  g.expires_at = g.issued_at + options_.token_ttl_s;
  g.token = tokens_.Mint({user->id, pid, user->generation, g.issued_at, g.expires_at});
  g.user_id = user->id;
  g.user_name = user->name;
  g.domain_id = did;
  g.domain_name = domain->name;
  g.project = Project{pid, project->name, did};
  return g;
}

absl::StatusOr<std::vector<Project>> AuthService::ListProjects(const std::string& user_id,
                                                               const std::string& name) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const UserRecord> user, identities_.User(user_id));
  if (!user) return Refuse("the user no longer exists");
  std::vector<Project> out;
  for (const std::string& pid : user->projects) {
    ASSIGN_OR_RETURN(std::optional<Project> p, identities_.FindProject(pid));
    if (!p) continue;
    if (name.empty() || p->name == name) out.push_back(*std::move(p));
  }
  return out;
}

absl::StatusOr<std::string> AuthService::MintToken(const std::string& user_id,
                                                   const std::string& project_id, int64_t iat,
                                                   int64_t exp) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const UserRecord> user, identities_.User(user_id));
  if (!user) return Fail(Reason::kIdentityNotFound);
  return tokens_.Mint({user_id, project_id, user->generation, iat, exp});
}

absl::StatusOr<BootstrapIdentity> AuthService::Bootstrap() {
  ASSIGN_OR_RETURN(std::optional<BootstrapIdentity> existing, identities_.ReadBootstrap());
  if (existing) return *std::move(existing);
  BootstrapIdentity id;
  id.domain = "admin";
  id.user = "admin";
  id.project_name = "default";
  id.password = Base64UrlEncode(RandomBytes(18));
  RETURN_IF_ERROR(
      identities_.CreateUser(id.domain, id.user, id.password, /*is_operator=*/true).status());
  ASSIGN_OR_RETURN(id.project_id, identities_.CreateProject(id.domain, id.project_name));
  RETURN_IF_ERROR(identities_.Grant(id.domain, id.user, id.project_name));
  ASSIGN_OR_RETURN(AccessKey key, identities_.CreateKey(id.domain, id.user));
  id.ak = key.ak;
  id.sk = key.sk;
  RETURN_IF_ERROR(identities_.WriteBootstrap(id));
  return id;
}

absl::StatusOr<std::string> AuthService::CreateDomain(const std::string& name) {
  return identities_.CreateDomain(name);
}
absl::StatusOr<std::string> AuthService::CreateUser(const std::string& domain,
                                                    const std::string& name,
                                                    const std::string& password, bool is_operator) {
  return identities_.CreateUser(domain, name, password, is_operator);
}
absl::StatusOr<std::vector<UserSummary>> AuthService::ListUsers() const {
  return identities_.ListUsers();
}
absl::StatusOr<std::vector<Project>> AuthService::ListAllProjects() const {
  return identities_.ListAllProjects();
}
absl::Status AuthService::Revoke(const std::string& domain, const std::string& user,
                                 const std::string& project_name) {
  return identities_.Revoke(domain, user, project_name);
}
// Whether (domain, name) is the one operator left: removing it would lock operators out.
absl::StatusOr<bool> AuthService::IsLastOperator(const std::string& domain,
                                                 const std::string& name) const {
  ASSIGN_OR_RETURN(std::vector<UserSummary> users, identities_.ListUsers());
  bool named = false;
  int operators = 0;
  for (const UserSummary& u : users) {
    if (!u.user.is_operator) continue;
    ++operators;
    named |= u.domain == domain && u.user.name == name;
  }
  return named && operators == 1;
}
// The bootstrap record (and the file made from it) shows the first identity's secrets while
// they are current, never after: a changed password or a deleted key or user is dropped
// from it, so nobody reading bootstrap.json later finds a stale secret.
absl::Status AuthService::ForgetBootstrapSecrets(const std::string& domain, const std::string& user,
                                                 const std::string& ak) {
  ASSIGN_OR_RETURN(std::optional<BootstrapIdentity> id, identities_.ReadBootstrap());
  if (!id) return absl::OkStatus();
  bool changed = false;
  if (!user.empty() && id->domain == domain && id->user == user && !id->password.empty()) {
    id->password.clear();
    changed = true;
  }
  if (!ak.empty() && id->ak == ak) {
    id->ak.clear();
    id->sk.clear();
    changed = true;
  }
  return changed ? identities_.WriteBootstrap(*id) : absl::OkStatus();
}

absl::Status AuthService::SetPassword(const std::string& domain, const std::string& name,
                                      const std::string& password) {
  RETURN_IF_ERROR(identities_.SetPassword(domain, name, password));
  return ForgetBootstrapSecrets(domain, name, "");
}
absl::Status AuthService::DeleteUser(const std::string& domain, const std::string& name) {
  ASSIGN_OR_RETURN(bool last, IsLastOperator(domain, name));
  if (last) return Fail(Reason::kInvalidArgument, "(the last operator cannot be deleted)");
  ASSIGN_OR_RETURN(std::optional<BootstrapIdentity> id, identities_.ReadBootstrap());
  RETURN_IF_ERROR(identities_.DeleteUser(domain, name));
  const bool first = id && id->domain == domain && id->user == name;
  return ForgetBootstrapSecrets(domain, name, first ? id->ak : "");
}
absl::Status AuthService::SetOperator(const std::string& domain, const std::string& name,
                                      bool is_operator) {
  if (!is_operator) {
    ASSIGN_OR_RETURN(bool last, IsLastOperator(domain, name));
    if (last) return Fail(Reason::kInvalidArgument, "(the last operator must stay one)");
  }
  return identities_.SetOperator(domain, name, is_operator);
}
absl::StatusOr<std::string> AuthService::CreateProject(const std::string& domain,
                                                       const std::string& name) {
  return identities_.CreateProject(domain, name);
}
absl::Status AuthService::Grant(const std::string& domain, const std::string& user,
                                const std::string& project_name) {
  return identities_.Grant(domain, user, project_name);
}
absl::StatusOr<AccessKey> AuthService::CreateKey(const std::string& domain,
                                                 const std::string& user) {
  return identities_.CreateKey(domain, user);
}
absl::StatusOr<std::vector<std::string>> AuthService::ListKeys(const std::string& domain,
                                                               const std::string& user) {
  return identities_.ListKeys(domain, user);
}
absl::Status AuthService::DeleteKey(const std::string& ak) {
  RETURN_IF_ERROR(identities_.DeleteKey(ak));
  return ForgetBootstrapSecrets("", "", ak);
}

absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions& options,
                                                      store::Database* db,
                                                      const std::string& data_dir) {
  ASSIGN_OR_RETURN(store::Kv * kv, db->Namespace("auth"));
  ASSIGN_OR_RETURN(std::string key, LoadOrCreateServerKey(data_dir));
  std::unique_ptr<AuthService> service(new AuthService(options, kv, key));
  RETURN_IF_ERROR(service->identities_.EnsureBootstrapOperator());
  return service;
}

}  // namespace iss::auth
