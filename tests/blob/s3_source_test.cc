// Object-storage locators: host globs, profile matching, path-style vs virtual-hosted URLs,
// s3:// URLs, the request URL built per profile, and the failures that need no store.
// (Signed requests against a real store: tests/integration/test_object_storage.py, RGW.)
#include "blob/s3_source.h"

#include <gtest/gtest.h>

#include "api/v1/errors.h"
#include "common/status.h"

namespace iss::blob {
namespace {

std::string CodeOf(const absl::Status& s) {
  return s.ok() ? "OK" : std::string(api::v1::WireCodeOf(s).code);
}

std::vector<StorageProfile> Profiles() {
  StorageProfile obs;
  obs.name = "obs";
  obs.hosts = {"*.obs.*.myhuaweicloud.com", "*.obs.myhuaweicloud.com"};
  obs.endpoint = "https://obs.cn-north-4.myhuaweicloud.com";
  obs.region = "cn-north-4";
  obs.virtual_hosted = true;
  StorageProfile local;
  local.name = "local";
  local.hosts = {"127.0.0.1:7480", "*.localhost:7480"};
  local.buckets = {"gallery", "other"};
  local.endpoint = "http://127.0.0.1:7480";
  StorageProfile any;
  any.name = "any-bucket";
  any.buckets = {"*"};
  any.endpoint = "http://localhost:9000";
  return {obs, local, any};
}

TEST(HostGlob, MatchesCaseInsensitiveWithAndWithoutPort) {
  EXPECT_TRUE(HostGlobMatch("*.obs.*.myhuaweicloud.com", "b.obs.cn-north-4.myhuaweicloud.com", ""));
  EXPECT_TRUE(HostGlobMatch("*.OBS.*.myhuaweicloud.com", "B.obs.x.MyHuaweiCloud.com", "443"));
  EXPECT_FALSE(HostGlobMatch("*.obs.*.myhuaweicloud.com", "obs.myhuaweicloud.com.evil.com", ""));
  EXPECT_FALSE(HostGlobMatch("*.obs.*.myhuaweicloud.com", "b.obs.x.myhuaweicloud.com.evil", ""));
  EXPECT_TRUE(HostGlobMatch("127.0.0.1:7480", "127.0.0.1", "7480"));
  EXPECT_FALSE(HostGlobMatch("127.0.0.1:7480", "127.0.0.1", "7481"));
  EXPECT_FALSE(HostGlobMatch("127.0.0.1:7480", "127.0.0.1", ""));
  EXPECT_TRUE(HostGlobMatch("example.com", "example.com", "8080"));
  EXPECT_TRUE(HostGlobMatch("*", "anything", ""));
}

TEST(UriEncode, KeepsUnreservedAndOptionallySlashes) {
  EXPECT_EQ(UriEncode("a b/c+d~e_f.g-h", true), "a%20b/c%2Bd~e_f.g-h");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe5\x9b\xbe.jpg", true), "%E5%9B%BE.jpg");
}

TEST(Resolve, VirtualHostedObsUrlOfTheReference) {
  auto r = ResolveLocator(Profiles(), "https://bucketName.obs.myhuaweicloud.com/image/test1.jpg");
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status();
  EXPECT_EQ((*r)->profile, 0);
  EXPECT_EQ((*r)->bucket, "bucketname");  // hosts are case-insensitive, so lower-cased
  EXPECT_EQ((*r)->key, "image/test1.jpg");
  auto r2 = ResolveLocator(Profiles(), "https://b1.obs.cn-north-4.myhuaweicloud.com/a%20b.jpg");
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->bucket, "b1");
  EXPECT_EQ((*r2)->key, "a b.jpg");  // decoded
  EXPECT_EQ(RequestUrl(Profiles()[0], **r2),
            "https://b1.obs.cn-north-4.myhuaweicloud.com/a%20b.jpg");
}

TEST(Resolve, PathStyleWhenTheHostIsTheEndpoint) {
  auto r = ResolveLocator(Profiles(), "http://127.0.0.1:7480/gallery/dir/x.jpg");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->profile, 1);
  EXPECT_EQ((*r)->bucket, "gallery");
  EXPECT_EQ((*r)->key, "dir/x.jpg");
  EXPECT_EQ(RequestUrl(Profiles()[1], **r), "http://127.0.0.1:7480/gallery/dir/x.jpg");
  // virtual-hosted form of the same object, requested path-style (the profile's addressing)
  auto v = ResolveLocator(Profiles(), "http://gallery.localhost:7480/dir/x.jpg");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->bucket, "gallery");
  EXPECT_EQ(RequestUrl(Profiles()[1], **v), "http://127.0.0.1:7480/gallery/dir/x.jpg");
  // a bucket the profile does not list is not claimed: a plain URL for HttpSource
  auto n = ResolveLocator(Profiles(), "http://127.0.0.1:7480/elsewhere/x.jpg");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->has_value());
}

TEST(Resolve, S3UrlsByBucket) {
  auto r = ResolveLocator(Profiles(), "s3://other/k/1.jpg");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->profile, 1);
  EXPECT_EQ((*r)->key, "k/1.jpg");
  auto any = ResolveLocator(Profiles(), "s3://zzz/q.jpg");
  ASSERT_TRUE(any.ok() && any->has_value());
  EXPECT_EQ((*any)->profile, 2);
  EXPECT_EQ(RequestUrl(Profiles()[2], **any), "http://localhost:9000/zzz/q.jpg");
  // no profile for the bucket: the client cannot be created
  auto none = ResolveLocator({Profiles()[1]}, "s3://zzz/q.jpg");
  EXPECT_EQ(CodeOf(none.status()), "IS.2016");
  EXPECT_EQ(CodeOf(ResolveLocator(Profiles(), "s3://gallery").status()), "IS.2003");
}

TEST(Resolve, PlainUrlsAreNotClaimed) {
  for (const char* u : {"https://example.com/a.jpg", "http://127.0.0.1:7481/gallery/a.jpg",
                        "https://obs.myhuaweicloud.com.evil.com/a.jpg", "ftp://x/y"}) {
    auto r = ResolveLocator(Profiles(), u);
    ASSERT_TRUE(r.ok()) << u;
    EXPECT_FALSE(r->has_value()) << u;
  }
}

TEST(S3Source, RefusesWithoutCredentialsAndLoopbackUnlessAllowed) {
  S3SourceOptions o;
  o.profiles = Profiles();
  S3Source no_keys(o);
  EXPECT_TRUE(no_keys.Accepts("s3://gallery/a.jpg"));
  EXPECT_TRUE(no_keys.Accepts("s3://unknown/a.jpg"));  // claimed, to fail with IS.2016
  EXPECT_FALSE(no_keys.Accepts("https://example.com/a.jpg"));
  EXPECT_EQ(CodeOf(no_keys.Fetch("s3://gallery/a.jpg").status()), "IS.2016");
  o.profiles[1].access_key = "AK";
  o.profiles[1].secret_key = "SK";
  S3Source keys(o);
  // 127.0.0.1 without allow_private: refused before any byte is sent
  auto s = keys.Fetch("s3://gallery/a.jpg").status();
  EXPECT_EQ(CodeOf(s), "IS.2011");
  EXPECT_NE(std::string(s.message()).find("private"), std::string::npos) << s;
  EXPECT_EQ(std::string(s.message()).find("SK"), std::string::npos);
}

}  // namespace
}  // namespace iss::blob
