// IAM-compatible tokens of our own format: "ISS1.<payload>.<mac>", where payload is the
// base64url of a JSON object {"exp","g","iat","p","u"} and mac the base64url of its
// HMAC-SHA256 under a key derived from the server key. Minting and checking only: whether
// the user still exists and still has generation "g" is the caller's question.
//
//   Tokens tokens(server_key, Clock::Real());
//   std::string t = tokens.Mint({.user_id = id, .project_id = pid, .generation = gen,
//                                .issued_at = now, .expires_at = now + ttl});
//   ASSIGN_OR_RETURN(TokenClaims claims, tokens.Check(t));  // authentic and unexpired
//
// Tokens survive restarts and are the same bytes for the same claims and server key.
// Thread contract: immutable after construction; every method is thread-safe.
#ifndef ISS_AUTH_TOKENS_H_
#define ISS_AUTH_TOKENS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"

namespace iss::auth {

struct TokenClaims {
  std::string user_id;      // "u"
  std::string project_id;   // "p": the project the token is scoped to
  int64_t generation = -1;  // "g": the user's credential generation when issued
  int64_t issued_at = 0;    // "iat": epoch seconds
  int64_t expires_at = 0;   // "exp": epoch seconds; invalid from this second on
};

class Tokens {
 public:
  // `clock` is borrowed and outlives this object.
  Tokens(std::string_view server_key, const Clock* clock);

  std::string Mint(const TokenClaims& claims) const;

  // The claims of an authentic token that has not expired by the clock. Otherwise
  // kUnauthenticated: "(the token is empty)", "(the token cannot be decrypted)", "(the
  // token has expired)" or "(malformed token)".
  absl::StatusOr<TokenClaims> Check(std::string_view token) const;

 private:
  const std::string key_;
  const Clock* const clock_;
};

}  // namespace iss::auth

#endif  // ISS_AUTH_TOKENS_H_
