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

// Every spelling of an internal address is internal: IPv4 ranges, IPv6 ranges, and every
// IPv6 form that embeds an IPv4 address (judged by that address).
TEST(IsInternalAddressTest, ClassifiesEveryEmbeddedIpv4Form) {
  for (const char* ip : {"127.0.0.1",
                         "10.1.2.3",
                         "172.16.0.1",
                         "192.168.1.1",
                         "169.254.169.254",
                         "0.0.0.0",
                         "100.64.0.1",
                         "198.18.0.1",
                         "192.0.2.1",
                         "224.0.0.1",
                         "255.255.255.255",
                         "::1",
                         "::",
                         "fe80::1",
                         "fc00::1",
                         "fd12:3456::1",
                         "fec0::1",
                         "ff02::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",  // IPv4-mapped
                         "::127.0.0.1",
                         "::8.8.8.8",           // IPv4-compatible (deprecated)
                         "::ffff:0:127.0.0.1",  // SIIT
                         "64:ff9b::7f00:1",
                         "64:ff9b::a9fe:a9fe",  // NAT64 of 127.0.0.1, 169.254.169.254
                         "64:ff9b:1::8.8.8.8",  // local-use NAT64
                         "2002:7f00:1::1",
                         "2002:c0a8:101::",            // 6to4 of 127.0.0.1, 192.168.1.1
                         "2001:0:7f00:1::1",           // Teredo, server 127.0.0.1
                         "2001:0:808:808::80ff:fffe",  // Teredo, client 127.0.0.1 (inverted)
                         "2001:db8::1",                // documentation
                         "2001:4860::5efe:127.0.0.1",
                         "2001:4860::200:5efe:10.0.0.1",  // ISATAP
                         "100::1",                        // discard
                         "not-an-address",
                         ""}) {
    EXPECT_TRUE(iss::blob::IsInternalAddress(ip)) << ip;
  }
  for (const char* ip :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2001:4860:4860::8888",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:0:808:808::f7f7:f7f7",
        "2001:4860::5efe:8.8.8.8"}) {
    EXPECT_FALSE(iss::blob::IsInternalAddress(ip)) << ip;
  }
}
