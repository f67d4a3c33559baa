// The identity records of auth/, over the "auth" namespace of the server's database:
// domains, users, projects, grants (a user's project list), access keys with sealed SKs,
// and the bootstrap record; with a read-through cache for the per-request path.
//
//   IdentityStore ids(kv, server_key, Clock::Real());
//   ASSIGN_OR_RETURN(std::string user_id, ids.CreateUser("admin", "alice", "a password"));
//   ASSIGN_OR_RETURN(std::shared_ptr<const UserRecord> user, ids.User(user_id));  // cached
//
// Records are JSON under these keys (the stored format; data dirs depend on it):
//   domain/ID         {"id","name"}                 domain_by_name/NAME -> ID
//   user/ID           {"id","name","domain_id","hash","gen","projects":[...]}, and
//                     "operator": true for operators (absent otherwise)
//                     user_by_name/DOMAIN_ID/NAME -> ID
//   project/ID        {"id","name","domain_id"}     project_by_name/DOMAIN_ID/NAME -> ID
//   key/AK            {"ak","user_id","sk","created"}  ("sk": base64url of the sealed SK)
//   bootstrap         {"domain","user","password","project_id","project_name","ak"}
// Passwords are argon2id hashes ("hash"); SKs and the bootstrap password are sealed
// (AES-256-GCM) under a key derived from the server key. "gen" is the user's credential
// generation: a password change bumps it, which ends the tokens that name the old one.
//
// Thread contract: every method is thread-safe. Operator changes are serialised among
// themselves; each one that can end or change a credential clears the cache, and a read
// that began before a change never caches what it read.
#ifndef ISS_AUTH_IDENTITY_STORE_H_
#define ISS_AUTH_IDENTITY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace iss::store {
class Kv;
}  // namespace iss::store

namespace iss::auth {

struct DomainRecord {
  std::string id, name;
};

struct UserRecord {
  std::string id, name, domain_id;
  std::string password_hash;          // "hash": argon2id, PHC string format
  int64_t generation = 0;             // "gen"
  std::vector<std::string> projects;  // the projects the user may use
  bool is_operator = false;           // "operator": true
  bool MayUse(std::string_view project_id) const;
};

struct Project {
  std::string id, name, domain_id;
};

struct KeyRecord {
  std::string ak, user_id;
  std::string sealed_sk;  // "sk": base64url of Seal(seal key, SK)
  int64_t created_s = 0;  // "created": epoch seconds
};

// A new access key; the SK is shown once and stored sealed.
struct AccessKey {
  std::string ak, sk, user_id;
};

// A user as the operator API lists it: the record (its hash not needed by callers), its
// domain's name and its access key ids.
struct UserSummary {
  UserRecord user;
  std::string domain;
  std::vector<std::string> keys;
};

// The first identity of a data directory, with its secrets in clear.
struct BootstrapIdentity {
  std::string domain, user, password, project_id, project_name, ak, sk;
};

class IdentityStore {
 public:
  // `server_key`: the 32 bytes of the server key file; the sealing key derives from it.
  // `kv` and `clock` are borrowed and outlive the store.
  IdentityStore(store::Kv* kv, std::string_view server_key, const Clock* clock);
  IdentityStore(const IdentityStore&) = delete;
  IdentityStore& operator=(const IdentityStore&) = delete;

  // --- Reads on the per-request path: cached, shared and immutable; nullptr when absent.
  absl::StatusOr<std::shared_ptr<const UserRecord>> User(const std::string& id) const;
  absl::StatusOr<std::shared_ptr<const DomainRecord>> Domain(const std::string& id) const;
  absl::StatusOr<std::shared_ptr<const KeyRecord>> Key(const std::string& ak) const;
  // The key's SK in clear (cached after the first AES-GCM open).
  absl::StatusOr<std::string> SecretKey(const KeyRecord& key) const;

  // --- Reads from the database (token issue, listings).
  // The id of a name; "" when there is none.
  absl::StatusOr<std::string> DomainIdByName(const std::string& name) const;
  absl::StatusOr<std::string> ProjectIdByName(const std::string& domain_id,
                                              const std::string& name) const;
  absl::StatusOr<std::optional<UserRecord>> UserByName(const std::string& domain_id,
                                                       const std::string& name) const;
  absl::StatusOr<std::optional<Project>> FindProject(const std::string& id) const;
  // Every user, by domain name then user name (password hashes cleared).
  absl::StatusOr<std::vector<UserSummary>> ListUsers() const;
  // Every project, by domain id then name.
  absl::StatusOr<std::vector<Project>> ListAllProjects() const;

  // --- Operator changes. Names are domain and user names; a missing user is
  // kIdentityNotFound, bad input kInvalidArgument.
  // The domain's id; created when new.
  absl::StatusOr<std::string> CreateDomain(const std::string& name);
  // kIdentityExists when the domain has a user of that name. REQUIRES: a name and a
  // password of at least 8 characters (else kInvalidArgument). Creates the domain if new.
  absl::StatusOr<std::string> CreateUser(const std::string& domain, const std::string& name,
                                         const std::string& password, bool is_operator = false);
  // Makes the user an operator or not (no write when it already is as asked).
  absl::Status SetOperator(const std::string& domain, const std::string& name, bool is_operator);
  absl::Status SetPassword(const std::string& domain, const std::string& name,
                           const std::string& password);  // ends the user's tokens
  absl::Status DeleteUser(const std::string& domain, const std::string& name);  // and keys
  // The project's id; created when new.
  absl::StatusOr<std::string> CreateProject(const std::string& domain, const std::string& name);
  absl::Status Grant(const std::string& domain, const std::string& user,
                     const std::string& project_name);
  // Takes the project from the user's list (OK when it was not there); the user's tokens
  // scoped to it stop working at once (Authenticate checks the list).
  absl::Status Revoke(const std::string& domain, const std::string& user,
                      const std::string& project_name);
  absl::StatusOr<AccessKey> CreateKey(const std::string& domain, const std::string& user);
  absl::StatusOr<std::vector<std::string>> ListKeys(const std::string& domain,
                                                    const std::string& user) const;
  absl::Status DeleteKey(const std::string& ak);

  // --- The bootstrap record.
  // The identity it names, secrets unsealed (sk empty when its key was deleted); nullopt
  // before the first bootstrap.
  absl::StatusOr<std::optional<BootstrapIdentity>> ReadBootstrap() const;
  // Records `id` (the password sealed; the SK stays in its key record only).
  absl::Status WriteBootstrap(const BootstrapIdentity& id);
  // Migration for data dirs made before operators: the bootstrap record's user, when it
  // still exists, becomes an operator. Idempotent; OK when there is no bootstrap yet.
  absl::Status EnsureBootstrapOperator();

 private:
  struct Cache {
    uint64_t epoch = 0;
    std::unordered_map<std::string, std::shared_ptr<const UserRecord>> users;
    std::unordered_map<std::string, std::shared_ptr<const DomainRecord>> domains;
    std::unordered_map<std::string, std::shared_ptr<const KeyRecord>> keys;
    std::unordered_map<std::string, std::string> sks;  // by AK
  };
  template <typename V, typename Pick, typename Load>
  absl::StatusOr<V> ReadThrough(const std::string& key, Pick pick, Load load) const;
  void Invalidate() const;

  store::Kv* const kv_;
  const std::string seal_key_;
  const Clock* const clock_;
  iss::Mutex admin_mu_;  // serialises operator changes
  mutable iss::Mutex cache_mu_;
  mutable Cache cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace iss::auth

#endif  // ISS_AUTH_IDENTITY_STORE_H_
