// Verification of AK/SK ("SDK-HMAC-SHA256") signed requests, as the cloud's official SDKs
// sign them (shared/docs/auth.md): the X-Sdk-Date within the allowed skew of the clock,
// Host and every listed header present and signed, the body against its hash, and the
// signature over the canonical request (auth/signer.h) under the key's SK.
//
//   SignatureVerifier verifier(&identities, {.max_clock_skew_s = 900}, Clock::Real());
//   ASSIGN_OR_RETURN(VerifiedKey key, verifier.Verify(facts, *authorization_header));
//   // key.user_id signed the request; whether that user may do it is the caller's question
//
// Failures: kUnauthenticated for anything forged, stale, malformed or unknown;
// kPayloadTooLarge for a body above the signed-body limit (checked before any hashing).
// With RequestFacts::body_pending (headers only) the body is not compared, and a signature
// over the body's own hash (no X-Sdk-Content-Sha256) is not checked yet: the full Verify()
// after the body arrives does that.
// Thread contract: immutable after construction; Verify() is thread-safe.
#ifndef ISS_AUTH_SIGNATURE_VERIFIER_H_
#define ISS_AUTH_SIGNATURE_VERIFIER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "auth/authenticator.h"
#include "common/clock.h"

namespace iss::auth {

class IdentityStore;

struct SignatureOptions {
  int64_t max_clock_skew_s = 15 * 60;  // Default: 15 min between X-Sdk-Date and the clock
  size_t max_signed_body = 12u << 20;  // Default: 12 MiB
};

struct VerifiedKey {
  std::string access_key;
  std::string user_id;  // the key's owner (who may no longer exist)
};

class SignatureVerifier {
 public:
  // `identities` and `clock` are borrowed and outlive the verifier.
  SignatureVerifier(const IdentityStore* identities, SignatureOptions options, const Clock* clock);

  // REQUIRES: `authorization` is the value of the request's Authorization header.
  absl::StatusOr<VerifiedKey> Verify(const RequestFacts& request,
                                     const std::string& authorization) const;

 private:
  const IdentityStore* const identities_;
  const SignatureOptions options_;
  const Clock* const clock_;
};

}  // namespace iss::auth

#endif  // ISS_AUTH_SIGNATURE_VERIFIER_H_
