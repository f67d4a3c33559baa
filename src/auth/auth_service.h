// Identities (domains, users, projects, access keys), IAM-compatible tokens, AK/SK
// signature verification and authorization by project. Rate limits are the HTTP
// pipeline's (by address, by Principal::credential, by user name on token issue).
//
//   ASSIGN_OR_RETURN(auto auth, auth::OpenAuth(options, db, data_dir));
//   ASSIGN_OR_RETURN(auth::Principal who, auth->Authenticate(facts, url_project_id));
//   ASSIGN_OR_RETURN(auth::TokenGrant t, auth->IssueToken(request));   // POST /v3/auth/tokens
//
// Storage: the "auth" namespace of the server's database. Passwords are argon2id hashes;
// secret keys and the bootstrap password are sealed (AES-256-GCM) under the server key file
// DATA_DIR/server.key (32 random bytes, mode 0600, made on first start). Tokens are
// "ISS1.<payload>.<HMAC>" under a key derived from the server key; a token names the
// user's credential generation, which a password change or deletion ends.
// Thread contract: every method is thread-safe.
#ifndef ISS_AUTH_AUTH_SERVICE_H_
#define ISS_AUTH_AUTH_SERVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/authenticator.h"
#include "common/clock.h"

namespace iss::store {
class Database;
class Kv;
}  // namespace iss::store

namespace iss::auth {

struct AuthOptions {
  int64_t token_ttl_s = 24 * 3600;     // Default: 24 h, as the cloud's IAM
  int64_t max_clock_skew_s = 15 * 60;  // Default: 15 min for X-Sdk-Date
  size_t max_signed_body = 12u << 20;  // Default: 12 MiB (larger bodies need a token)
  // Token times and expiry, X-Sdk-Date skew, key creation times. Not owned; outlives the
  // service. Default: the process's clock.
  const Clock* clock = Clock::Real();
};

struct Project {
  std::string id, name, domain_id;
};

struct TokenRequest {
  std::string user_name, password;
  std::string domain_name, domain_id;    // one of them
  std::string project_name, project_id;  // one of them
};

struct TokenGrant {
  std::string token;
  int64_t issued_at = 0, expires_at = 0;  // epoch seconds
  std::string user_id, user_name, domain_id, domain_name;
  Project project;
};

struct BootstrapIdentity {
  std::string domain, user, password, project_id, project_name, ak, sk;
};

struct AccessKey {
  std::string ak, sk, user_id;
};

class AuthService : public Authenticator {
 public:
  ~AuthService() override;

  absl::StatusOr<Principal> Authenticate(const RequestFacts& request,
                                         std::string_view project_id) const override;

  absl::StatusOr<TokenGrant> IssueToken(const TokenRequest& request) const;
  // The projects the token's user may use (name filter optional).
  absl::StatusOr<std::vector<Project>> ListProjects(const std::string& token,
                                                    const std::string& name_filter) const;

  // Operator commands (admin CLI).
  absl::StatusOr<BootstrapIdentity> Bootstrap();  // idempotent
  absl::StatusOr<std::string> CreateDomain(const std::string& name);
  absl::StatusOr<std::string> CreateUser(const std::string& domain, const std::string& name,
                                         const std::string& password);
  absl::Status SetPassword(const std::string& domain, const std::string& name,
                           const std::string& password);
  absl::Status DeleteUser(const std::string& domain, const std::string& name);
  absl::StatusOr<std::string> CreateProject(const std::string& domain, const std::string& name);
  absl::Status Grant(const std::string& domain, const std::string& user,
                     const std::string& project_name);
  absl::StatusOr<AccessKey> CreateKey(const std::string& domain, const std::string& user);
  absl::StatusOr<std::vector<std::string>> ListKeys(const std::string& domain,
                                                    const std::string& user);
  absl::Status DeleteKey(const std::string& ak);

  // For tests: a token with chosen times.
  absl::StatusOr<std::string> MintToken(const std::string& user_id, const std::string& project_id,
                                        int64_t issued_at, int64_t expires_at) const;

 private:
  friend absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions&, store::Database*,
                                                               const std::string&);
  AuthService(AuthOptions options, store::Kv* kv, std::string server_key);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions& options,
                                                      store::Database* db,
                                                      const std::string& data_dir);

}  // namespace iss::auth

#endif  // ISS_AUTH_AUTH_SERVICE_H_
