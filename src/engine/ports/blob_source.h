// Ports: image bytes named by a locator (http(s) URLs, object-storage URLs), and the
// listing of an object-storage prefix (offline imports, bucket sync). blob/ implements both
// (libcurl, storage profiles, allow-list, no SSRF).
//
//   if (blobs->Accepts(key)) ASSIGN_OR_RETURN(std::string bytes, blobs->Fetch(key));
//   ASSIGN_OR_RETURN(Blob blob, blobs->FetchWithMetadata(key));  // + x-amz-meta-*, ETag
//   ASSIGN_OR_RETURN(std::optional<BlobStat> stat, blobs->Stat(key));  // size + ETag only
//   ASSIGN_OR_RETURN(ObjectPage page, lister->ListObjects("s3://bucket/prefix/", token));
//
// Failures: Reason::kBlobUnreachable (network, status, size, time), kBlobForbidden (host or
// address not allowed), kBlobNotFound, kBucketNotFound, kBlobDenied, kBlobClient.
// Thread contract: every method of both may be called concurrently.
#ifndef ISS_ENGINE_PORTS_BLOB_SOURCE_H_
#define ISS_ENGINE_PORTS_BLOB_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::engine {

// An object's bytes and its user-defined metadata: the `x-amz-meta-<name>` (or OBS's
// `x-obs-meta-<name>`) headers of its GET, as (lower-case name without the prefix, value).
struct Blob {
  std::string bytes;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string etag;  // the object's ETag as its listing shows it; empty: the source has none
};

// What tells a changed object from an unchanged one without reading it.
struct BlobStat {
  int64_t size = -1;
  std::string etag;
};

class BlobSource {
 public:
  virtual ~BlobSource() = default;
  // True when `locator` has a form this source fetches (it may still fail to).
  virtual bool Accepts(std::string_view locator) const = 0;
  // REQUIRES: Accepts(locator).
  virtual absl::StatusOr<std::string> Fetch(std::string_view locator) const = 0;
  // As Fetch, with the object's metadata; a source without metadata (plain http(s), files)
  // answers none. REQUIRES: Accepts(locator).
  virtual absl::StatusOr<Blob> FetchWithMetadata(std::string_view locator) const {
    absl::StatusOr<std::string> bytes = Fetch(locator);
    if (!bytes.ok()) return bytes.status();
    return Blob{*std::move(bytes), {}, {}};
  }
  // The object's size and ETag without its bytes (object storage: a HEAD); nullopt when
  // the source cannot tell them cheaply (plain http(s)). REQUIRES: Accepts(locator).
  virtual absl::StatusOr<std::optional<BlobStat>> Stat(std::string_view locator) const {
    (void)locator;
    return std::optional<BlobStat>();
  }
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
