#include "auth/signature_verifier.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "auth/crypto.h"
#include "auth/identity_store.h"
#include "auth/signer.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace iss::auth {
namespace {

absl::Status Refuse(const std::string& why) {
  return Fail(Reason::kUnauthenticated, "(" + why + ")");
}

// X-Sdk-Date "YYYYMMDDTHHMMSSZ" (UTC) -> epoch seconds; nullopt when malformed.
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

SignatureVerifier::SignatureVerifier(const IdentityStore* identities, SignatureOptions options,
                                     const Clock* clock)
    : identities_(identities), options_(options), clock_(clock) {}

absl::StatusOr<VerifiedKey> SignatureVerifier::Verify(const RequestFacts& r,
                                                      const std::string& authorization) const {
  ASSIGN_OR_RETURN(ParsedAuthorization a, ParseAuthorization(authorization));
  if (r.body.size() > options_.max_signed_body) {
    return Fail(Reason::kPayloadTooLarge, "(signed requests may carry at most 12 MB; use a token)");
  }
  const std::string* date = FindHeader(r.headers, "X-Sdk-Date");
  if (date == nullptr) return Refuse("X-Sdk-Date is missing");
  std::optional<int64_t> when = ParseSdkDate(*date);
  if (!when) return Refuse("X-Sdk-Date is malformed");
  if (std::llabs(*when - clock_->NowS()) > options_.max_clock_skew_s) {
    return Refuse("X-Sdk-Date is more than 15 minutes from the server's clock");
  }
  if (std::find(a.signed_headers.begin(), a.signed_headers.end(), "host") ==
      a.signed_headers.end()) {
    return Refuse("Host must be signed");
  }
  for (const std::string& h : a.signed_headers) {
    if (FindHeader(r.headers, h) == nullptr) return Refuse("signed header `" + h + "` is missing");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const KeyRecord> key, identities_->Key(a.access_key));
  if (!key) return Refuse("the access key does not exist");
  ASSIGN_OR_RETURN(std::string sk, identities_->SecretKey(*key));
  std::string body_hash;
  if (const std::string* h = FindHeader(r.headers, "X-Sdk-Content-Sha256")) {
    body_hash = *h;
    if (!r.body_pending && body_hash != "UNSIGNED-PAYLOAD" && body_hash != Sha256Hex(r.body)) {
      return Refuse("the body does not match X-Sdk-Content-Sha256");
    }
  } else if (r.body_pending) {
    // The signature covers the body's hash: it can only be checked once the body is here
    // (the key, date and signed headers were).
    return VerifiedKey{a.access_key, key->user_id};
  } else {
    body_hash = Sha256Hex(r.body);
  }
  const std::string canonical =
      CanonicalRequest(r.method, r.raw_path, r.raw_query, r.headers, a.signed_headers,
                       a.signed_headers_text, body_hash);
  if (!SafeEqual(Sign(sk, StringToSign(*date, canonical)), a.signature)) {
    return Refuse("the signature does not match");
  }
  return VerifiedKey{a.access_key, key->user_id};
}

}  // namespace iss::auth
