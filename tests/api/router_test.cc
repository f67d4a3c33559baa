#include "api/http/router.h"

#include <gtest/gtest.h>

namespace iss::api {
namespace {

Handler Named(std::string name) {
  return [name](const Call&) {
    HttpResponse r;
    r.body = name;
    return r;
  };
}

std::string Dispatch(const Router& router, const char* method, const char* path) {
  Router::Match m = router.Find(method, path);
  if (m.route == nullptr) return m.path_matched ? "<method>" : "<none>";
  HttpRequest req;
  return m.route->handler(iss::api::Call{req, m.params}).body;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/v1/{project_id}/service", Named("create"));
    router_.Add("GET", "/v1/{project_id}/service/{instance_name}", Named("get"));
    router_.Add("DELETE", "/v1/{project_id}/service/{instance_name}", Named("delete-inst"));
    router_.Add("POST", "/v1/{project_id}/{instance_name}/image", Named("add"));
    router_.Add("DELETE", "/v1/{project_id}/{instance_name}/image", Named("delete-img"));
    router_.Add("POST", "/v1/{project_id}/{instance_name}/image/search", Named("search"));
  }
  Router router_;
};

TEST_F(RouterTest, MatchesAndExtractsParams) {
  Router::Match m = router_.Find("GET", "/v1/p1/service/shoes");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("project_id"), "p1");
  EXPECT_EQ(m.params.at("instance_name"), "shoes");
  EXPECT_EQ(Dispatch(router_, "POST", "/v1/p1/shoes/image/search"), "search");
}

TEST_F(RouterTest, UnknownPathAndWrongMethod) {
  EXPECT_EQ(Dispatch(router_, "GET", "/v2/p1/service"), "<none>");
  EXPECT_EQ(Dispatch(router_, "GET", "/v1/p1/shoes/image/nope"), "<none>");
  EXPECT_EQ(Dispatch(router_, "PUT", "/v1/p1/service"), "<method>");
  EXPECT_EQ(Dispatch(router_, "POST", "/v1//service"), "<none>");  // empty parameter
}

TEST_F(RouterTest, LiteralSegmentsWin) {
  // Both "delete instance `image`" and "delete images of instance `service`" match.
  EXPECT_EQ(Dispatch(router_, "DELETE", "/v1/p/service/image"), "delete-inst");
  EXPECT_EQ(Dispatch(router_, "DELETE", "/v1/p/shoes/image"), "delete-img");
  EXPECT_EQ(Dispatch(router_, "POST", "/v1/p/service/image"), "add");
  // Registration order does not matter.
  Router reversed;
  reversed.Add("DELETE", "/v1/{project_id}/{instance_name}/image", Named("delete-img"));
  reversed.Add("DELETE", "/v1/{project_id}/service/{instance_name}", Named("delete-inst"));
  EXPECT_EQ(Dispatch(reversed, "DELETE", "/v1/p/service/image"), "delete-inst");
}

TEST_F(RouterTest, PercentDecodesSegmentsAfterSplitting) {
  Router::Match m = router_.Find("GET", "/v1/p%2F1/service/sh%6Fes");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("project_id"), "p/1");
  EXPECT_EQ(m.params.at("instance_name"), "shoes");
  EXPECT_EQ(Dispatch(router_, "POST", "/v1/p/%73ervice"), "create");
  // A malformed escape matches no route.
  EXPECT_EQ(Dispatch(router_, "GET", "/v1/p/service/a%zz"), "<none>");
}

TEST(IsValidUtf8Test, AcceptsTextRefusesMalformedSequences) {
  for (std::string_view ok :
       {"", "abc", "\xC3\xA9t\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (std::string_view bad :
       {"\xFF\xFE", "\xC3\x28", "\xC3", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\x80", "a\xE2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace iss::api
