#include "api/http/cors.h"

#include <gtest/gtest.h>

#include <string>

namespace iss::api {
namespace {

HttpRequest Request(std::string method, std::string origin, bool preflight) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/v1/p/service";
  if (!origin.empty()) r.headers.emplace_back("Origin", origin);
  if (preflight) r.headers.emplace_back("Access-Control-Request-Method", "POST");
  return r;
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class CorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/v1/{project_id}/service", [](const Call&) { return HttpResponse{}; });
  }
  Router router_;
};

TEST_F(CorsTest, OffByDefault) {
  Cors cors;
  EXPECT_FALSE(cors.enabled());
  HttpRequest pre = Request("OPTIONS", "https://a.example", true);
  EXPECT_FALSE(cors.Preflight(pre, router_.Find("OPTIONS", pre.path)));
  HttpResponse r;
  cors.Apply(Request("POST", "https://a.example", false), &r);
  EXPECT_TRUE(r.headers.empty());
}

TEST_F(CorsTest, ListedOriginsOnly) {
  Cors cors({"https://a.example"});
  HttpRequest pre = Request("OPTIONS", "https://a.example", true);
  auto answer = cors.Preflight(pre, router_.Find("OPTIONS", pre.path));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_NE(HeaderOf(*answer, "Access-Control-Allow-Headers").find("X-Auth-Token"),
            std::string::npos);
  EXPECT_TRUE(HeaderOf(*answer, "Access-Control-Allow-Credentials").empty());

  HttpRequest other = Request("OPTIONS", "https://a.example.evil", true);
  EXPECT_FALSE(cors.Preflight(other, router_.Find("OPTIONS", other.path)));
  HttpRequest no_path = Request("OPTIONS", "https://a.example", true);
  no_path.path = "/nothing";
  EXPECT_FALSE(cors.Preflight(no_path, router_.Find("OPTIONS", no_path.path)));
  HttpRequest plain_options = Request("OPTIONS", "https://a.example", false);
  EXPECT_FALSE(cors.Preflight(plain_options, router_.Find("OPTIONS", plain_options.path)));

  HttpResponse ok, refused;
  cors.Apply(Request("POST", "https://a.example", false), &ok);
  EXPECT_EQ(HeaderOf(ok, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(HeaderOf(ok, "Vary"), "Origin");
  cors.Apply(Request("POST", "https://b.example", false), &refused);
  EXPECT_TRUE(refused.headers.empty());
}

TEST_F(CorsTest, AnyOrigin) {
  Cors cors({"*"});
  HttpResponse r;
  cors.Apply(Request("POST", "https://whoever.example", false), &r);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  HttpResponse none;
  cors.Apply(Request("POST", "", false), &none);  // not a browser's cross-origin call
  EXPECT_TRUE(none.headers.empty());
}

}  // namespace
}  // namespace iss::api
