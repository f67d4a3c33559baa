#include "api/console/console.h"

#include <gtest/gtest.h>

#include <string>

namespace iss::api::console {
namespace {

const std::string* Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterRoutes(&router_); }

  // Status 0: no route matched.
  HttpResponse Get(const std::string& path) {
    Router::Match m = router_.Find("GET", path);
    if (m.route == nullptr) return HttpResponse{.status = 0};
    EXPECT_EQ(m.route->auth, AuthPolicy::kPublic);
    HttpRequest req;
    return m.route->handler(Call{req, m.params});
  }

  Router router_;
};

TEST_F(ConsoleTest, ServesEveryEmbeddedFileWithItsTypeAndTheSecurityHeaders) {
  ASSERT_GE(Assets().size(), 5u);
  bool has_index = false;
  for (const Asset& a : Assets()) {
    has_index |= a.name == "index.html";
    HttpResponse r = Get("/console/" + std::string(a.name));
    EXPECT_EQ(r.status, 200) << a.name;
    EXPECT_EQ(r.body, a.body) << a.name;
    EXPECT_FALSE(r.content_type.empty()) << a.name;
    ASSERT_NE(Header(r, "Content-Security-Policy"), nullptr) << a.name;
    EXPECT_EQ(*Header(r, "Content-Security-Policy"), kContentSecurityPolicy);
    ASSERT_NE(Header(r, "X-Content-Type-Options"), nullptr) << a.name;
    EXPECT_EQ(*Header(r, "X-Content-Type-Options"), "nosniff");
  }
  EXPECT_TRUE(has_index);
  EXPECT_EQ(Get("/console/main.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/console/style.css").content_type, "text/css; charset=utf-8");
  HttpResponse index = Get("/console/");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, Get("/console/index.html").body);
}

TEST_F(ConsoleTest, TheRootAndTheBareFolderRedirect) {
  for (const char* path : {"/", "/console"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 302) << path;
    ASSERT_NE(Header(r, "Location"), nullptr);
    EXPECT_EQ(*Header(r, "Location"), "/console/");
  }
}

TEST_F(ConsoleTest, OnlyEmbeddedNamesAreServed) {
  for (const char* path : {"/console/..%2Fconsole.cc", "/console/%2e%2e", "/console/a%2Fmain.js",
                           "/console/nope.js", "/console/console.cc", "/console/embed.cmake",
                           "/console/main.js%00.html", "/console/MAIN.JS"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << path;
  }
  EXPECT_EQ(Get("/console/x/main.js").status, 0);  // no route
  EXPECT_EQ(Get("/console/../main.js").status, 0);
}

}  // namespace
}  // namespace iss::api::console
