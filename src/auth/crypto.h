// Small cryptographic helpers over OpenSSL and libargon2, used by auth/ only.
// Thread-safe: pure functions.
#ifndef ISS_AUTH_CRYPTO_H_
#define ISS_AUTH_CRYPTO_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace iss::auth {

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Hex(std::string_view raw);                                // lower case
std::string RandomBytes(size_t n);
std::string Base64UrlEncode(std::string_view raw);  // no padding
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);
// Constant-time equality (CRYPTO_memcmp); false when the sizes differ.
bool SafeEqual(std::string_view a, std::string_view b);

// AES-256-GCM with a random 12-byte nonce: nonce || ciphertext || tag.
absl::StatusOr<std::string> Seal(std::string_view key32, std::string_view plaintext);
absl::StatusOr<std::string> Open(std::string_view key32, std::string_view sealed);

// argon2id (t=2, m=19 MiB, p=1) in the PHC string format; Verify is constant-time.
absl::StatusOr<std::string> HashPassword(std::string_view password);
bool VerifyPassword(const std::string& encoded, std::string_view password);

}  // namespace iss::auth

#endif  // ISS_AUTH_CRYPTO_H_
