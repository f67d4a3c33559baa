// The v1 wire codes against the cloud's reference: every code the server can answer is a
// code of the reference (section 5.2) with the reference's message, every code of the
// reference is in the table, and every Reason of the engine maps to one of them.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "api/v1/codes.h"
#include "api/v1/errors.h"
#include "common/status.h"

namespace iss::api::v1 {
namespace {

// code -> message, from the tab-separated error table of the reference.
std::map<std::string, std::string> ReferenceCodes() {
  std::ifstream in(std::string(ISS_SHARED_DIR) + "/seeds/image-search-api-reference.txt");
  std::map<std::string, std::string> out;
  std::string line;
  const std::regex row(R"(^\d{3}\t((?:IS|APIG|ModelArts)\.\d{4})\t([^\t]*)\t)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) out.emplace(m[1], m[2]);
  }
  return out;
}

// Codes of the cloud's API gateway that the reference links to but does not list.
bool IsDocumentedGatewayCode(std::string_view code) { return code == "APIG.0302"; }

TEST(V1CodesTest, EveryCodeIsAReferenceCodeWithItsMessage) {
  const auto ref = ReferenceCodes();
  ASSERT_GT(ref.size(), 130u) << "the reference's error table was not found";
  for (const WireCode& c : kWireCodes) {
    if (IsDocumentedGatewayCode(c.code)) continue;
    auto it = ref.find(std::string(c.code));
    ASSERT_NE(it, ref.end()) << c.code << " is not in the reference";
    if (c.code != "APIG.0301") {  // the reference's text lists three causes; we answer one
      EXPECT_EQ(it->second, c.message) << c.code;
    }
    if (c.code.substr(0, 3) == "IS.") {
      EXPECT_EQ(c.http_status, 400) << c.code;
    }
  }
}

TEST(V1CodesTest, EveryReferenceCodeIsInTheTable) {
  for (const auto& [code, message] : ReferenceCodes()) {
    EXPECT_NE(FindCode(code), nullptr) << code;
  }
}

TEST(V1CodesTest, EveryReasonMapsToACode) {
  for (Reason r : kAllReasons) {
    const WireCode& c = CodeFor(r);
    EXPECT_NE(FindCode(c.code), nullptr) << ReasonName(r);
    // A status of that reason renders with that code.
    EXPECT_EQ(WireCodeOf(Fail(r, "x")).code, c.code) << ReasonName(r);
  }
}

TEST(V1CodesTest, SurfaceCodesAndOverridesWin) {
  EXPECT_EQ(WireCodeOf(CodeError(Code("IS.1010"))).code, "IS.1010");
  constexpr CodeOverride o[] = {{Reason::kGalleryNotFound, &Code("IS.4004")}};
  EXPECT_EQ(WireCodeOf(Fail(Reason::kGalleryNotFound), o).code, "IS.4004");
  EXPECT_EQ(WireCodeOf(Fail(Reason::kGalleryNotFound)).code, "IS.2019");
  EXPECT_EQ(WireCodeOf(Fail(Reason::kItemNotFound), o).code, "IS.2006");
  // A status from elsewhere (no reason) maps by its canonical code.
  EXPECT_EQ(WireCodeOf(absl::InvalidArgumentError("x")).code, "IS.0001");
  EXPECT_EQ(WireCodeOf(absl::UnknownError("x")).code, "IS.0009");
}

TEST(V1CodesTest, TheAnswerCarriesCodeMessageAndDetail) {
  HttpResponse r = RenderError(Fail(Reason::kItemNotFound, "(no image with path `a`)"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"j({"error_code":"IS.2006","error_msg":"The image is not indexed. )j"
                    R"j((no image with path `a`)"})j");
  r = RenderError(Fail(Reason::kRateLimited));
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

}  // namespace
}  // namespace iss::api::v1
