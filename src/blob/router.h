// The BlobSource the engine sees: object-storage locators (s3://, and http(s) URLs a storage
// profile claims) go to the S3Source, every other http(s) URL to the plain HttpSource (its
// allow-list and SSRF rules).
// Thread contract: as its parts: Fetch() may be called concurrently.
#ifndef ISS_BLOB_ROUTER_H_
#define ISS_BLOB_ROUTER_H_

#include <memory>
#include <string>
#include <string_view>

#include "blob/http_source.h"
#include "blob/s3_source.h"
#include "engine/ports/blob_source.h"

namespace iss::blob {

class Router : public engine::BlobSource {
 public:
  Router(std::unique_ptr<S3Source> s3, std::unique_ptr<HttpSource> http)
      : s3_(std::move(s3)), http_(std::move(http)) {}
  bool Accepts(std::string_view locator) const override {
    return s3_->Accepts(locator) || http_->Accepts(locator);
  }
  absl::StatusOr<std::string> Fetch(std::string_view locator) const override {
    if (s3_->Accepts(locator)) return s3_->Fetch(locator);
    return http_->Fetch(locator);
  }
  // The object-storage side, which also lists prefixes (engine::ObjectLister).
  const S3Source* s3() const { return s3_.get(); }

 private:
  std::unique_ptr<S3Source> s3_;
  std::unique_ptr<HttpSource> http_;
};

}  // namespace iss::blob

#endif  // ISS_BLOB_ROUTER_H_
