// Port: image bytes named by a locator (an http(s) URL today; object-storage URLs next).
// blob/ implements it (libcurl, allow-list, no SSRF).
//
//   if (blobs->Accepts(key)) ASSIGN_OR_RETURN(std::string bytes, blobs->Fetch(key));
//
// Failures: Reason::kBlobUnreachable (network, status, size, time), kBlobForbidden (host or
// address not allowed), kBlobNotFound, kBucketNotFound, kBlobDenied, kBlobClient.
// Thread contract: every method may be called concurrently.
#ifndef ISS_ENGINE_PORTS_BLOB_SOURCE_H_
#define ISS_ENGINE_PORTS_BLOB_SOURCE_H_

#include <string>
#include <string_view>

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

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_BLOB_SOURCE_H_
