// SDK-HMAC-SHA256 against a vector computed by hand (Python hashlib/hmac, following
// shared/docs/auth.md step by step), plus the canonical URI and query rules.
#include "auth/signer.h"

#include <gtest/gtest.h>

#include "auth/crypto.h"

namespace iss::auth {
namespace {

TEST(SignerTest, CanonicalUriDecodesThenEncodesEachSegmentAndEndsWithSlash) {
  EXPECT_EQ(CanonicalUri("/v1/p1/service"), "/v1/p1/service/");
  EXPECT_EQ(CanonicalUri("/v1/p1/my%20inst/image"), "/v1/p1/my%20inst/image/");
  EXPECT_EQ(CanonicalUri("/v1/p1/a~b.c_d-e/"), "/v1/p1/a~b.c_d-e/");
  EXPECT_EQ(CanonicalUri("/v1/p%2a"), "/v1/p%2A/");
}

// RFC 4231 test cases 1 (short key) and 6 (key longer than the 64-byte block).
TEST(SignerTest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(SignerTest, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(CanonicalQuery(""), "");
  EXPECT_EQ(CanonicalQuery("b=x%20y&a=1"), "a=1&b=x%20y");
  EXPECT_EQ(CanonicalQuery("name=default"), "name=default");
}

TEST(SignerTest, MatchesAHandComputedVector) {
  Headers headers = {{"Content-Type", "application/json"},
                     {"Host", "127.0.0.1:8080"},
                     {"X-Sdk-Date", "20260101T120000Z"}};
  const std::string body = R"({"path": "a.jpg"})";
  auto auth = ParseAuthorization(
      "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, Signature=00");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->access_key, "AK1");
  std::string cr =
      CanonicalRequest("POST", "/v1/p1/my%20inst/image/search", "b=x%20y&a=1", headers,
                       auth->signed_headers, auth->signed_headers_text, Sha256Hex(body));
  EXPECT_EQ(cr,
            "POST\n/v1/p1/my%20inst/image/search/\na=1&b=x%20y\ncontent-type:application/json\n"
            "host:127.0.0.1:8080\nx-sdk-date:20260101T120000Z\n\ncontent-type;host;x-sdk-date\n"
            "feb6e5933054c5c1fede3fd7aaa20e6c58adecf6915326f281e87ca80d15a4bd");
  EXPECT_EQ(Sign("secret-key-123", StringToSign("20260101T120000Z", cr)),
            "8f774540e3a0b03556a10c9a18d6c712c62e431aaaf27d4af15f4f3bd38b8118");
}

TEST(SignerTest, MalformedAuthorizationIsRefused) {
  EXPECT_FALSE(ParseAuthorization("Bearer x").ok());
  EXPECT_FALSE(ParseAuthorization("SDK-HMAC-SHA256 Access=A").ok());
}

TEST(CryptoTest, SealOpensOnlyWithItsKey) {
  std::string key = RandomBytes(32), other = RandomBytes(32);
  auto sealed = Seal(key, "secret");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*Open(key, *sealed), "secret");
  EXPECT_FALSE(Open(other, *sealed).ok());
  std::string tampered = *sealed;
  tampered[14] ^= 1;
  EXPECT_FALSE(Open(key, tampered).ok());
}

TEST(CryptoTest, PasswordsAreSaltedArgon2id) {
  auto a = HashPassword("correct horse");
  auto b = HashPassword("correct horse");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(*a, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*a, "wrong horse"));
}

}  // namespace
}  // namespace iss::auth
