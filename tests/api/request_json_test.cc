#include "api/v1/request_json.h"

#include <gtest/gtest.h>

#include "api/v1/errors.h"

namespace iss::api::v1 {
namespace {

std::string CodeOf(const absl::Status& s) {
  return s.ok() ? "OK" : std::string(WireCodeOf(s).code);
}

TEST(RequestJsonTest, ParseObject) {
  EXPECT_EQ(CodeOf(ParseObject("{}", false).status()), "OK");
  EXPECT_EQ(CodeOf(ParseObject("", true).status()), "OK");
  EXPECT_EQ(CodeOf(ParseObject(" ", false).status()), "IS.0008");
  EXPECT_EQ(CodeOf(ParseObject("[1]", false).status()), "IS.0008");
  EXPECT_EQ(CodeOf(ParseObject("{\"a\":", false).status()), "IS.0008");
  EXPECT_EQ(CodeOf(ParseObject("\"x\"", false).status()), "IS.0008");
  // Deep nesting is refused before the recursive parser sees it.
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(CodeOf(ParseObject(deep, false).status()), "IS.0008");
  // Brackets inside strings do not count.
  std::string strings = "{\"a\":\"" + std::string(1000, '[') + "\"}";
  EXPECT_EQ(CodeOf(ParseObject(strings, false).status()), "OK");
}

TEST(RequestJsonTest, StrictTypes) {
  nlohmann::json j = nlohmann::json::parse(
      R"({"s":"x","i":5,"f":5.5,"b":true,"n":null,"m":{"k":"v"},"bad":{"k":1}})");
  EXPECT_EQ(*OptionalString(j, "s").value(), "x");
  EXPECT_FALSE(OptionalString(j, "n").value().has_value());
  EXPECT_FALSE(OptionalString(j, "absent").value().has_value());
  EXPECT_EQ(CodeOf(OptionalString(j, "i").status()), "IS.0002");
  EXPECT_EQ(*OptionalInt(j, "i").value(), 5);
  EXPECT_EQ(CodeOf(OptionalInt(j, "f").status()), "IS.0002");
  EXPECT_EQ(CodeOf(OptionalInt(j, "s").status()), "IS.0002");
  EXPECT_EQ(CodeOf(OptionalBool(j, "s").status()), "IS.0002");
  EXPECT_EQ(OptionalStringMap(j, "m", Code("IS.1003")).value()->at("k"), "v");
  EXPECT_EQ(CodeOf(OptionalStringMap(j, "bad", Code("IS.1003")).status()), "IS.0002");
  nlohmann::json many = nlohmann::json::object();
  for (int i = 0; i < 11; ++i) many["t"]["k" + std::to_string(i)] = "v";
  EXPECT_EQ(CodeOf(OptionalStringMap(many, "t", Code("IS.1003")).status()), "IS.1003");
}

TEST(RequestJsonTest, Utf8Length) {
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("\xe5\x9b\xbe\xe7\x89\x87"), 2u);  // two CJK characters
}

}  // namespace
}  // namespace iss::api::v1
