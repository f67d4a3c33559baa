#include "api/v1/base64.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/v1/errors.h"

namespace iss::api::v1 {
namespace {

std::string Decoded(std::string_view in) {
  absl::StatusOr<std::string> r = DecodeBase64Image(in);
  return r.ok() ? *r : "<" + std::string(WireCodeOf(r.status()).code) + ">";
}

TEST(Base64Test, AcceptsStandardForms) {
  EXPECT_EQ(Decoded("aGVsbG8="), "hello");
  EXPECT_EQ(Decoded("aGVsbG8"), "hello");          // padding optional
  EXPECT_EQ(Decoded("aGVs\r\nbG8 =\t"), "hello");  // whitespace anywhere
  EXPECT_EQ(Decoded("data:image/jpeg;base64,aGVsbG8="), "hello");
  EXPECT_EQ(Decoded("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64Test, RefusesBadInput) {
  EXPECT_EQ(Decoded("-_-_"), "<IS.2007>");       // url-safe alphabet
  EXPECT_EQ(Decoded("aGV*bG8="), "<IS.2007>");   // invalid character
  EXPECT_EQ(Decoded("aGVsbG8=="), "<IS.2007>");  // wrong padding
  EXPECT_EQ(Decoded("aGVsbG8==="), "<IS.2007>");
  EXPECT_EQ(Decoded("aG=Vs"), "<IS.2007>");  // data after padding
  EXPECT_EQ(Decoded("aGVsb"), "<IS.2007>");  // lone final character
  EXPECT_EQ(Decoded(""), "<IS.2007>");
  EXPECT_EQ(Decoded("data:image/png,aGVsbG8="), "<IS.2007>");  // not a base64 data URL
}

TEST(Base64Test, SharedEvalFiles) {
  const std::string dir = std::string(ISS_EVAL_DIR) + "/bad-inputs/";
  auto read = [&](const std::string& name) {
    std::ifstream in(dir + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  ASSERT_FALSE(read("b64_valid.txt").empty()) << "no " << dir;
  const std::string valid = Decoded(read("b64_valid.txt"));
  ASSERT_EQ(valid.substr(0, 2), "\xff\xd8");
  for (const char* ok :
       {"b64_no_padding.txt", "b64_newlines.txt", "b64_whitespace.txt", "b64_data_url.txt"}) {
    EXPECT_EQ(Decoded(read(ok)), valid) << ok;
  }
  for (const char* bad : {"b64_bad_padding.txt", "b64_urlsafe.txt", "b64_invalid_chars.txt"}) {
    EXPECT_EQ(Decoded(read(bad)), "<IS.2007>") << bad;
  }
}

}  // namespace
}  // namespace iss::api::v1
