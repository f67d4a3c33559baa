#include "blob/http_source.h"

#include <gtest/gtest.h>

#include "api/http/http_server.h"
#include "api/http/pipeline.h"
#include "api/v1/errors.h"
#include "api/v1/routes.h"
#include "common/status.h"

namespace iss::blob {
namespace {

// The v1 code a failure is answered with (what a client sees).
std::string CodeOf(const absl::Status& s) {
  return s.ok() ? "OK" : std::string(api::v1::WireCodeOf(s).code);
}

// A real HTTP server on 127.0.0.1:<free port> serving fixed answers.
class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/small", [](const api::Call&) {
      api::HttpResponse r;
      r.content_type = "image/jpeg";
      r.body = "\xff\xd8 small image";
      return r;
    });
    router_.Add("GET", "/big", [](const api::Call&) {
      api::HttpResponse r;
      r.body = std::string(100000, 'x');
      return r;
    });
    router_.Add("GET", "/redirect-ok", [this](const api::Call&) {
      api::HttpResponse r;
      r.status = 302;
      r.headers.emplace_back("Location", Url("/small"));
      return r;
    });
    router_.Add("GET", "/redirect-out", [](const api::Call&) {
      api::HttpResponse r;
      r.status = 302;
      r.headers.emplace_back("Location", "http://169.254.169.254/latest/meta-data");
      return r;
    });
    router_.Add("GET", "/loop", [this](const api::Call&) {
      api::HttpResponse r;
      r.status = 302;
      r.headers.emplace_back("Location", Url("/loop"));
      return r;
    });
    api::HttpServerOptions o;
    o.port = 0;
    pipeline_ = std::make_unique<api::Pipeline>(
        &router_, nullptr, api::PipelineOptions{.default_errors = api::v1::RenderDefaultError});
    auto s = api::HttpServer::Start(o, pipeline_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  HttpSourceOptions Allowed(bool allow_private) const {
    HttpSourceOptions o;
    o.allowed_hosts = {"127.0.0.1:" + std::to_string(server_->port())};
    o.allow_private = allow_private;
    o.max_bytes = 50000;
    o.timeout_ms = 3000;
    return o;
  }

  api::Router router_;
  std::unique_ptr<api::Pipeline> pipeline_;
  std::unique_ptr<api::HttpServer> server_;
};

TEST_F(HttpSourceTest, DownloadsFromAnAllowedHost) {
  HttpSource f(Allowed(true));
  absl::StatusOr<std::string> r = f.Fetch(Url("/small"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "\xff\xd8 small image");
}

TEST_F(HttpSourceTest, DefaultRefusesEverything) {
  HttpSource f(HttpSourceOptions{});
  EXPECT_EQ(CodeOf(f.Fetch(Url("/small")).status()), "IS.2011");
  EXPECT_EQ(CodeOf(f.Fetch("http://example.com/a.jpg").status()), "IS.2011");
}

TEST_F(HttpSourceTest, LoopbackRefusedUnlessPrivateAllowed) {
  HttpSource f(Allowed(false));
  EXPECT_EQ(CodeOf(f.Fetch(Url("/small")).status()), "IS.2011");
  // A name that resolves to loopback is refused as well: the connected address counts.
  HttpSourceOptions o = Allowed(false);
  o.allowed_hosts.push_back("localhost:" + std::to_string(server_->port()));
  HttpSource by_name(o);
  EXPECT_EQ(
      CodeOf(
          by_name.Fetch("http://localhost:" + std::to_string(server_->port()) + "/small").status()),
      "IS.2011");
}

TEST_F(HttpSourceTest, OtherPortOfAnAllowedHostIsRefused) {
  HttpSource f(Allowed(true));
  EXPECT_EQ(CodeOf(f.Fetch("http://127.0.0.1:1/small").status()), "IS.2011");
}

TEST_F(HttpSourceTest, SizeLimitAndHttpErrors) {
  HttpSource f(Allowed(true));
  EXPECT_EQ(CodeOf(f.Fetch(Url("/big")).status()), "IS.2000");
  EXPECT_EQ(CodeOf(f.Fetch(Url("/missing")).status()), "IS.2000");  // 404
}

TEST_F(HttpSourceTest, RedirectsAreFollowedAndRechecked) {
  HttpSource f(Allowed(true));
  absl::StatusOr<std::string> ok = f.Fetch(Url("/redirect-ok"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "\xff\xd8 small image");
  EXPECT_EQ(CodeOf(f.Fetch(Url("/redirect-out")).status()), "IS.2011");
  EXPECT_EQ(CodeOf(f.Fetch(Url("/loop")).status()), "IS.2000");
}

TEST_F(HttpSourceTest, OnlyHttpSchemes) {
  HttpSourceOptions o;
  o.allowed_hosts = {"*"};
  HttpSource f(o);
  EXPECT_TRUE(f.Accepts("https://x/a.jpg"));
  EXPECT_TRUE(f.Accepts("HTTP://x/a.jpg"));
  EXPECT_FALSE(f.Accepts("file:///etc/passwd"));
  EXPECT_FALSE(f.Accepts("a.jpg"));
  EXPECT_NE(CodeOf(f.Fetch("file:///etc/passwd").status()), "OK");
  EXPECT_NE(CodeOf(f.Fetch("gopher://127.0.0.1/").status()), "OK");
}

}  // namespace
}  // namespace iss::blob
