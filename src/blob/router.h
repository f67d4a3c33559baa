// The BlobSource (and ObjectLister) the engine sees: object-storage locators (s3://, and
// http(s) URLs a storage profile claims) go to the S3Source, file:// locators to the
// FileSource (directories the operator enables, off by default), every other http(s) URL
// to the plain HttpSource (its allow-list and SSRF rules).
// Thread contract: as its parts: every method may be called concurrently.
#ifndef ISS_BLOB_ROUTER_H_
#define ISS_BLOB_ROUTER_H_

#include <memory>
#include <string>
#include <string_view>

#include "blob/file_source.h"
#include "blob/http_source.h"
#include "blob/s3_source.h"
#include "engine/ports/blob_source.h"

namespace iss::blob {

class Router : public engine::BlobSource, public engine::ObjectLister {
 public:
  Router(std::unique_ptr<S3Source> s3, std::unique_ptr<HttpSource> http,
         std::unique_ptr<FileSource> files)
      : s3_(std::move(s3)), http_(std::move(http)), files_(std::move(files)) {}
  bool Accepts(std::string_view locator) const override {
    return files_->Accepts(locator) || s3_->Accepts(locator) || http_->Accepts(locator);
  }
  absl::StatusOr<std::string> Fetch(std::string_view locator) const override {
    if (files_->Accepts(locator)) return files_->Fetch(locator);
    if (s3_->Accepts(locator)) return s3_->Fetch(locator);
    return http_->Fetch(locator);
  }
  absl::StatusOr<engine::Blob> FetchWithMetadata(std::string_view locator) const override {
    if (files_->Accepts(locator)) return files_->FetchWithMetadata(locator);
    if (s3_->Accepts(locator)) return s3_->FetchWithMetadata(locator);
    return http_->FetchWithMetadata(locator);
  }
  absl::StatusOr<std::optional<engine::BlobStat>> Stat(std::string_view locator) const override {
    if (files_->Accepts(locator)) return files_->Stat(locator);
    if (s3_->Accepts(locator)) return s3_->Stat(locator);
    return http_->Stat(locator);
  }
  bool CanList(std::string_view prefix) const override {
    return files_->CanList(prefix) || s3_->CanList(prefix);
  }
  absl::StatusOr<engine::ObjectPage> ListObjects(std::string_view prefix,
                                                 const std::string& token) const override {
    if (files_->CanList(prefix)) return files_->ListObjects(prefix, token);
    return s3_->ListObjects(prefix, token);
  }
  absl::StatusOr<std::string> LocatorOf(std::string_view prefix,
                                        std::string_view key) const override {
    if (files_->CanList(prefix)) return files_->LocatorOf(prefix, key);
    return s3_->LocatorOf(prefix, key);
  }
  // The object-storage side on its own (admin storage-ls / storage-head).
  const S3Source* s3() const { return s3_.get(); }

 private:
  std::unique_ptr<S3Source> s3_;
  std::unique_ptr<HttpSource> http_;
  std::unique_ptr<FileSource> files_;
};

}  // namespace iss::blob

#endif  // ISS_BLOB_ROUTER_H_
