// The auth façade: authenticates requests (IAM tokens or AK/SK signatures) and authorizes
// them by project, issues tokens (POST /v3/auth/tokens), lists a token's projects, and
// carries the operator commands over the identity records. It composes IdentityStore
// (records), Tokens (ISS1 tokens) and SignatureVerifier (AK/SK), and owns them.
//
//   ASSIGN_OR_RETURN(auto auth, auth::OpenAuth(options, db, data_dir));
//   ASSIGN_OR_RETURN(auth::Principal who, auth->Authenticate(facts, url_project_id));
//   ASSIGN_OR_RETURN(auth::TokenGrant t, auth->IssueToken(request));   // POST /v3/auth/tokens
//
// Storage: the "auth" namespace of the server's database (auth/identity_store.h). Secret
// keys and the bootstrap password are sealed under the server key file DATA_DIR/server.key
// (32 random bytes, mode 0600, made on first start); tokens are MACed under a key derived
// from it (auth/tokens.h). A token names the user's credential generation, which a
// password change or deletion ends.
// No rate limits here: the HTTP pipeline limits by source address, by
// Principal::credential and, on token issue, by user name and address.
// Thread contract: every method is thread-safe.
#ifndef ISS_AUTH_AUTH_SERVICE_H_
#define ISS_AUTH_AUTH_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/authenticator.h"
#include "auth/identity_store.h"
#include "auth/signature_verifier.h"
#include "auth/tokens.h"
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
  // service; never null. Default: the process's clock.
  const Clock* clock = Clock::Real();
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

class AuthService : public Authenticator {
 public:
  ~AuthService() override;
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  absl::StatusOr<Principal> Authenticate(const RequestFacts& request,
                                         std::string_view project_id) const override;
  // For operator routes: see Authenticator. Principal::project_id is empty.
  absl::StatusOr<Principal> AuthenticateIdentity(const RequestFacts& request) const override;

  // kUnauthenticated for a wrong user, domain or password (one answer for all three);
  // kPermissionDenied when the user may not use the project.
  absl::StatusOr<TokenGrant> IssueToken(const TokenRequest& request) const;
  // The projects user `user_id` (an authenticated Principal's) may use (name filter
  // optional).
  absl::StatusOr<std::vector<Project>> ListProjects(const std::string& user_id,
                                                    const std::string& name_filter) const;

  // Operator commands (the admin API and CLI); see IdentityStore for each.
  // Idempotent. The first call makes the admin user, an operator, its project and key.
  absl::StatusOr<BootstrapIdentity> Bootstrap();
  absl::StatusOr<std::string> CreateDomain(const std::string& name);
  absl::StatusOr<std::string> CreateUser(const std::string& domain, const std::string& name,
                                         const std::string& password, bool is_operator = false);
  // kInvalidArgument when it would leave no operator (nobody could run these any more).
  absl::Status DeleteUser(const std::string& domain, const std::string& name);
  absl::StatusOr<std::vector<UserSummary>> ListUsers() const;
  absl::StatusOr<std::vector<Project>> ListAllProjects() const;
  absl::Status Revoke(const std::string& domain, const std::string& user,
                      const std::string& project_name);
  absl::Status SetPassword(const std::string& domain, const std::string& name,
                           const std::string& password);
  // kInvalidArgument when it would leave no operator.
  absl::Status SetOperator(const std::string& domain, const std::string& name, bool is_operator);
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
  absl::StatusOr<bool> IsLastOperator(const std::string& domain, const std::string& name) const;
  absl::Status ForgetBootstrapSecrets(const std::string& domain, const std::string& user,
                                      const std::string& ak);
  friend absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions&, store::Database*,
                                                               const std::string&);
  AuthService(const AuthOptions& options, store::Kv* kv, const std::string& server_key);

  struct Caller {
    std::shared_ptr<const UserRecord> user;
    std::string project_id;  // the token's scope; empty for a signature
    std::string credential;  // "token:<user_id>" or "ak:<AK>"
  };
  // A token that is authentic, unexpired, of an existing user and current generation.
  absl::StatusOr<Caller> CheckToken(const std::string& token) const;
  // A signed request whose key and user exist.
  absl::StatusOr<Caller> CheckSignature(const RequestFacts& request,
                                        const std::string& authorization) const;
  absl::StatusOr<Principal> MakePrincipal(const UserRecord& user, const std::string& project_id,
                                          const std::string& credential) const;

  const AuthOptions options_;
  IdentityStore identities_;
  const Tokens tokens_;
  const SignatureVerifier verifier_;
};

// The service over `db`'s "auth" namespace, with DATA_DIR/server.key (made when missing).
// Migrates the records on the way: a bootstrap user made before operators becomes one.
absl::StatusOr<std::unique_ptr<AuthService>> OpenAuth(const AuthOptions& options,
                                                      store::Database* db,
                                                      const std::string& data_dir);

}  // namespace iss::auth

#endif  // ISS_AUTH_AUTH_SERVICE_H_
