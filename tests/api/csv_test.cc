// api::v1::ParseCsv: RFC 4180 records (import-job manifests).
#include "api/v1/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iss::api::v1 {
namespace {

using Fields = std::vector<std::string>;

std::vector<Fields> Fieldsof(const std::vector<CsvRecord>& records) {
  std::vector<Fields> out;
  for (const CsvRecord& r : records) out.push_back(r.fields);
  return out;
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  auto r = ParseCsv("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\n,,\nlast");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Fieldsof(*r),
            (std::vector<Fields>{
                {"a", "b", "c"}, {"x, y", "say \"hi\"", "two\nlines"}, {"", "", ""}, {"last"}}));
  // Each record says the line it starts on (the quoted line break counts).
  EXPECT_EQ((*r)[1].line, 2u);
  EXPECT_EQ((*r)[2].line, 5u);
  EXPECT_EQ((*r)[3].line, 6u);
}

TEST(CsvTest, EmptyQuotedFieldAndTrailingSeparator) {
  auto r = ParseCsv("\"\"\na,\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Fieldsof(*r), (std::vector<Fields>{{""}, {"a", ""}}));
}

TEST(CsvTest, MalformedTextIsRefusedWithItsLine) {
  for (const char* bad : {"a\n\"open", "a\n\"x\"y,b", "a\nb\"c"}) {
    auto r = ParseCsv(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(std::string(r.status().message()).find("line 2"), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace iss::api::v1
