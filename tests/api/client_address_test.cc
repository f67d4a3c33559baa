// TrustedProxies: which X-Forwarded-For entry is the client, and from whom it is believed.
#include "api/http/client_address.h"

#include <gtest/gtest.h>

#include <string>

namespace iss::api {
namespace {

TEST(TrustedProxiesTest, ParsesAddressesAndCidrs) {
  EXPECT_TRUE(TrustedProxies::Parse({"10.0.0.0/8", "192.168.1.1", "::1", "fd00::/8"}).ok());
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(TrustedProxies::Parse({"not-an-ip"}).ok());
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/8/1"}).ok());
  auto p = TrustedProxies::Parse({"10.0.0.0/8", "fd00::/8", "127.0.0.1"});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Contains("10.200.3.4"));
  EXPECT_FALSE(p->Contains("11.0.0.1"));
  EXPECT_TRUE(p->Contains("fd12::1"));
  EXPECT_FALSE(p->Contains("fe80::1"));
  EXPECT_TRUE(p->Contains("127.0.0.1"));
  EXPECT_FALSE(p->Contains("127.0.0.2"));
}

TEST(TrustedProxiesTest, ClientIsTheRightMostUntrustedHop) {
  auto p = TrustedProxies::Parse({"10.0.0.0/8"});
  ASSERT_TRUE(p.ok());
  const std::string xff = "6.6.6.6, 203.0.113.9, 10.0.0.2";
  EXPECT_EQ(p->ClientAddress("10.0.0.1", &xff), "203.0.113.9");
  // from a peer that is not trusted, the header is ignored
  EXPECT_EQ(p->ClientAddress("198.51.100.1", &xff), "198.51.100.1");
  EXPECT_EQ(p->ClientAddress("10.0.0.1", nullptr), "10.0.0.1");
  // garbage stops the walk: the last address believed is used
  const std::string junk = "203.0.113.9, junk, 10.0.0.3";
  EXPECT_EQ(p->ClientAddress("10.0.0.1", &junk), "10.0.0.3");
  // no trusted proxies at all: never believed
  auto none = TrustedProxies::Parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->ClientAddress("10.0.0.1", &xff), "10.0.0.1");
}

}  // namespace
}  // namespace iss::api
