// Who is calling, and may they touch this project? IAM tokens and AK/SK signatures.
//
//   auth::Principal who;
//   ASSIGN_OR_RETURN(who, authenticator.Authenticate(facts, url_project_id));
//   // operator routes (no project in the URL): who is it, whatever the project?
//   ASSIGN_OR_RETURN(who, authenticator.AuthenticateIdentity(facts));
//   if (!who.is_operator) return Fail(Reason::kPermissionDenied, "(operators only)");
//
// Failures carry a reason (common/status.h), which each API surface maps to its own code:
// kUnauthenticated for missing, bad, expired or forged credentials; kPermissionDenied for a
// valid credential that may not use the project of the URL; kPayloadTooLarge for a signed
// body above the limit. No rate limits here: the HTTP pipeline keys them on
// RequestFacts::remote_addr and Principal::credential.
// Never reveals whether an instance exists: it is called before any routing to core/.
// Thread contract: Authenticate() and AuthenticateIdentity() are thread-safe.
#ifndef ISS_AUTH_AUTHENTICATOR_H_
#define ISS_AUTH_AUTHENTICATOR_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/status.h"

namespace iss::auth {

// The parts of an HTTP request that authentication looks at (api/ fills it).
struct RequestFacts {
  std::string method;                                        // upper case
  std::string raw_path;                                      // as received, percent-encoded
  std::string raw_query;                                     // as received, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string_view body;                                     // exact bytes
  std::string remote_addr;
  // Headers only, the body not read yet (the server checks credentials before it buffers
  // a large body): everything that does not need the body's bytes is checked; a signature
  // whose body hash is not in X-Sdk-Content-Sha256 is left for the full check, which
  // always follows once the body has arrived. A success authorizes nothing but reading it.
  bool body_pending = false;
};

struct Principal {
  std::string domain_id;
  std::string domain_name;
  std::string user_id;
  std::string user_name;
  std::string project_id;    // the project authorized; empty from AuthenticateIdentity()
  std::string credential;    // "token:<user_id>" or "ak:<AK>": the rate-limit key
  bool is_operator = false;  // the user's record says "operator": true
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<Principal> Authenticate(const RequestFacts& request,
                                                 std::string_view project_id) const = 0;
  // The caller's identity, with no project scope (operator routes): a token is checked as
  // usual but its project need not match anything, a signature is verified the same way,
  // and X-Project-Id is neither required nor looked at. Authorizes nothing by itself.
  // Default: refuses everyone (kUnauthenticated), for authenticators without identities.
  virtual absl::StatusOr<Principal> AuthenticateIdentity(const RequestFacts& request) const;
};

inline absl::StatusOr<Principal> Authenticator::AuthenticateIdentity(const RequestFacts&) const {
  return Fail(Reason::kUnauthenticated, "(this server has no operator identities)");
}

}  // namespace iss::auth

#endif  // ISS_AUTH_AUTHENTICATOR_H_
