#include "auth/crypto.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>

#include "common/status.h"

namespace iss::auth {

std::string Hex(std::string_view raw) {
  static const char* k = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(k[c >> 4]);
    out.push_back(k[c & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(std::string_view(reinterpret_cast<char*>(md), sizeof md));
}

// RFC 2104 over OpenSSL's one-shot SHA256(): OpenSSL 3's HMAC() fetches the MAC and
// digest implementations on every call, which cost more than the hashing itself here
// (one HMAC per signed request and per token check).
std::string HmacSha256(std::string_view key, std::string_view data) {
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {0};
  if (key.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), k);
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  std::string inner(kBlock + data.size(), '\0');
  for (size_t i = 0; i < kBlock; ++i) inner[i] = char(k[i] ^ 0x36);
  std::memcpy(inner.data() + kBlock, data.data(), data.size());
  unsigned char outer[kBlock + SHA256_DIGEST_LENGTH];
  for (size_t i = 0; i < kBlock; ++i) outer[i] = k[i] ^ 0x5c;
  SHA256(reinterpret_cast<const unsigned char*>(inner.data()), inner.size(), outer + kBlock);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(outer, sizeof outer, md);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(inner.data(), kBlock);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n));
  return out;
}

std::string Base64UrlEncode(std::string_view raw) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(a[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 63]);
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return Fail(Reason::kUnauthenticated, "(malformed token)");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  return out;
}

bool SafeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
}  // namespace

absl::StatusOr<std::string> Seal(std::string_view key, std::string_view plaintext) {
  if (key.size() != 32) return Fail(Reason::kInternal, "(bad key size)");
  std::string nonce = RandomBytes(12);
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out = nonce;
  out.resize(12 + plaintext.size() + 16);
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data()) + 12;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        int(plaintext.size())) != 1) {
    return Fail(Reason::kInternal, "(encryption failed)");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, o + total + len) != 1) {
    return Fail(Reason::kInternal, "(encryption failed)");
  }
  return out;
}

absl::StatusOr<std::string> Open(std::string_view key, std::string_view sealed) {
  if (key.size() != 32 || sealed.size() < 28) return Fail(Reason::kCorrupt, "(bad sealed data)");
  std::string_view nonce = sealed.substr(0, 12);
  std::string_view body = sealed.substr(12, sealed.size() - 28);
  std::string tag(sealed.substr(sealed.size() - 16));
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(body.size(), '\0');
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(body.data()),
                        int(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &len) != 1) {
    return Fail(Reason::kCorrupt, "(decryption failed: wrong server key or corrupt data)");
  }
  return out;
}

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  std::string salt = RandomBytes(16);
  constexpr uint32_t t = 2, m = 19 * 1024, p = 1;
  size_t len = argon2_encodedlen(t, m, p, uint32_t(salt.size()), 32, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(t, m, p, password.data(), password.size(), salt.data(),
                                 salt.size(), 32, encoded.data(), len);
  if (rc != ARGON2_OK)
    return Fail(Reason::kInternal, std::string("(argon2: ") + argon2_error_message(rc) + ")");
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(const std::string& encoded, std::string_view password) {
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace iss::auth
