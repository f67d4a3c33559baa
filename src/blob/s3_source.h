// Image bytes from S3-compatible object storage (Ceph RGW, Huawei OBS, AWS S3, MinIO ...):
// signed GETs (AWS Signature V4, libcurl's CURLOPT_AWS_SIGV4), chosen by storage profiles the
// operator configures. A profile maps URL patterns to an endpoint, a region, an addressing
// style and credentials:
//
//   s3://bucket/key                                   -> the profile listing `bucket` (or "*")
//   https://bucket.obs.cn-north-4.myhuaweicloud.com/k -> the profile whose host glob matches
//   http://127.0.0.1:7480/bucket/key                  -> (path-style: host == endpoint host)
//
// For an http(s) URL whose host is the profile's endpoint host, the first path segment is
// the bucket (path-style); any other matching host is virtual-hosted: the bucket is what
// precedes ".<endpoint host>", else the host's first label. The request to the store uses
// the profile's own addressing (`virtual_hosted`), whatever the URL's form was.
// Every connection passes the same address check as plain downloads (no loopback/private
// addresses unless the profile allows them). Credentials are never logged or echoed.
//
// Failures: kBlobNotFound (no such key), kBucketNotFound, kBlobDenied (403: wrong or missing
// keys, no permission), kBlobClient (no profile for an s3:// bucket, credentials missing),
// kBlobForbidden (address refused), kBlobUnreachable (network, size, other statuses).
// Thread contract: immutable after construction; Fetch/Head/List may be called concurrently.
#ifndef ISS_BLOB_S3_SOURCE_H_
#define ISS_BLOB_S3_SOURCE_H_

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ports/blob_source.h"

namespace iss::blob {
namespace internal {
struct Transfer;
}  // namespace internal

struct StorageProfile {
  std::string name;                  // for messages; Default: "profile<N>"
  std::vector<std::string> hosts;    // URL host globs: "*.obs.*.myhuaweicloud.com", "h:port"
  std::vector<std::string> buckets;  // buckets it serves ("*" = any); empty = any for hosts
  std::string endpoint;              // "https://obs.cn-north-4.myhuaweicloud.com"
  std::string region = "us-east-1";  // SigV4 region
  bool virtual_hosted = false;       // requests as bucket.<endpoint host>/key, else /bucket/key
  std::string connect_to;            // optional "host:port" every connection goes to instead
  // Credentials, first found wins: inline, environment variables, a file of
  // "access_key = ..." / "secret_key = ..." lines. None: requests are refused (IS.2016).
  std::string access_key, secret_key;
  std::string access_key_env, secret_key_env;
  std::string credentials_file;
  bool allow_private = false;  // allow loopback/private addresses (a local store)
};

struct S3SourceOptions {
  std::vector<StorageProfile> profiles;  // Default: none (only plain http(s) downloads)
  int64_t max_bytes = 10 * 1024 * 1024;  // Default: 10 MiB per object
  int timeout_ms = 10000;                // Default: 10 s for the whole transfer
};

// An object a locator names, and the profile that serves it.
struct ObjectRef {
  int profile = -1;  // index into S3SourceOptions::profiles
  std::string bucket;
  std::string key;  // decoded
};

// '*' matches any run of characters; case-insensitive. A pattern with a ':' is matched
// against "host:port", one without against the host alone.
bool HostGlobMatch(std::string_view pattern, std::string_view host, std::string_view port);
// AWS URI encoding: every byte but A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash) as %XX.
std::string UriEncode(std::string_view s, bool keep_slash);
// The object `locator` names under `profiles`. nullopt: not an object-storage locator (a
// plain http(s) URL no profile claims). An error: s3:// with no profile, or malformed.
// `prefix`: the key may be empty (a bucket or a prefix to list).
absl::StatusOr<std::optional<ObjectRef>> ResolveLocator(const std::vector<StorageProfile>& profiles,
                                                        std::string_view locator,
                                                        bool prefix = false);
// The URL requested from the store for `ref` (the profile's endpoint and addressing).
std::string RequestUrl(const StorageProfile& profile, const ObjectRef& ref);

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;  // without quotes
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // in key order
  std::string next_token;           // empty on the last page
};

class S3Source : public engine::BlobSource, public engine::ObjectLister {
 public:
  explicit S3Source(S3SourceOptions options);
  ~S3Source() override;
  // True for s3:// and for http(s) URLs a profile claims.
  bool Accepts(std::string_view locator) const override;
  absl::StatusOr<std::string> Fetch(std::string_view locator) const override;
  // The GET's x-amz-meta-* / x-obs-meta-* headers come with the bytes.
  absl::StatusOr<engine::Blob> FetchWithMetadata(std::string_view locator) const override;
  // Head() as the port's BlobStat.
  absl::StatusOr<std::optional<engine::BlobStat>> Stat(std::string_view locator) const override;
  // Size and ETag of one object (a signed HEAD; a missing object or bucket: kBlobNotFound,
  // HEAD answers carry no error body).
  absl::StatusOr<ObjectInfo> Head(std::string_view locator) const;
  // One page of the objects under a prefix (`s3://bucket/prefix`, or a claimed URL of the
  // bucket with the prefix as its path): ListObjectsV2, signed; pass the previous page's
  // next_token to continue.
  absl::StatusOr<ListPage> List(std::string_view prefix_locator, const std::string& token,
                                int max_keys = 1000) const;

  // engine::ObjectLister: List() with each object's locator in the prefix's URL form
  // (s3://bucket/key, or the same scheme, host and addressing as the prefix's URL).
  bool CanList(std::string_view prefix_locator) const override;
  absl::StatusOr<engine::ObjectPage> ListObjects(std::string_view prefix_locator,
                                                 const std::string& token) const override;
  absl::StatusOr<std::string> LocatorOf(std::string_view prefix_locator,
                                        std::string_view key) const override;

 private:
  absl::StatusOr<ObjectRef> Claim(std::string_view locator, bool prefix) const;
  absl::Status Send(const ObjectRef& ref, const std::string& query, bool head,
                    internal::Transfer* t, long* status, std::string* etag,
                    std::vector<std::pair<std::string, std::string>>* metadata = nullptr) const;
  struct Keys {
    std::string access, secret;
  };
  // This thread's reusable libcurl handle for `profile` (nullptr: curl failed).
  CURL* Handle(int profile) const;
  S3SourceOptions options_;
  std::vector<std::optional<Keys>> keys_;  // per profile; nullopt = none configured
  const uint64_t id_;                      // unique in the process (Handle's key)
};

}  // namespace iss::blob

#endif  // ISS_BLOB_S3_SOURCE_H_
