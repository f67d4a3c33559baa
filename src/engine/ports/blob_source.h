// Ports: image bytes named by a locator (http(s) URLs, object-storage URLs), and the
// listing of an object-storage prefix (offline imports, bucket sync). blob/ implements both
// (libcurl, storage profiles, allow-list, no SSRF).
//
//   if (blobs->Accepts(key)) ASSIGN_OR_RETURN(std::string bytes, blobs->Fetch(key));
//   ASSIGN_OR_RETURN(ObjectPage page, lister->ListObjects("s3://bucket/prefix/", token));
//
// Failures: Reason::kBlobUnreachable (network, status, size, time), kBlobForbidden (host or
// address not allowed), kBlobNotFound, kBucketNotFound, kBlobDenied, kBlobClient.
// Thread contract: every method of both may be called concurrently.
#ifndef ISS_ENGINE_PORTS_BLOB_SOURCE_H_
#define ISS_ENGINE_PORTS_BLOB_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::engine {

class BlobSource {
 public:
  virtual ~BlobSource() = default;
  // True when `locator` has a form this source fetches (it may still fail to).
  virtual bool Accepts(std::string_view locator) const = 0;
  // REQUIRES: Accepts(locator).
  virtual absl::StatusOr<std::string> Fetch(std::string_view locator) const = 0;
};

// One object of a listing: `locator` fetches it (and is its image's key in a gallery).
struct ListedObject {
  std::string locator;  // "s3://bucket/a/b.jpg", or the prefix's URL form with the key
  std::string key;      // the object's key in its bucket: "a/b.jpg"
  int64_t size = 0;
  std::string etag;  // without quotes
};

struct ObjectPage {
  std::vector<ListedObject> objects;  // in key order
  std::string next_token;             // empty on the last page
};

class ObjectLister {
 public:
  virtual ~ObjectLister() = default;
  // True when `prefix_locator` names a bucket (and a key prefix) this lister can list.
  virtual bool CanList(std::string_view prefix_locator) const = 0;
  // One page of the objects under the prefix, after `token` (empty: the first page).
  // Failures: as Fetch's (kBucketNotFound, kBlobDenied, kBlobClient, kBlobUnreachable).
  virtual absl::StatusOr<ObjectPage> ListObjects(std::string_view prefix_locator,
                                                 const std::string& token) const = 0;
  // The locator of `key` in the bucket `prefix_locator` names (same URL form).
  virtual absl::StatusOr<std::string> LocatorOf(std::string_view prefix_locator,
                                                std::string_view key) const = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_BLOB_SOURCE_H_
