// Image bytes for a locator that is an http(s) URL (libcurl), restricted to hosts the
// operator allows, with no way round to internal addresses (SSRF): every address a name
// resolves to is checked at connect time, every redirect hop again.
//
//   blob::HttpSource source(options);
//   if (source.Accepts(url)) ASSIGN_OR_RETURN(std::string bytes, source.Fetch(url));
//
// Failures: Reason::kBlobUnreachable (HTTP error, timeout, too large, too many redirects),
// kBlobForbidden (host not on the allow-list, or a loopback/private address that is not
// explicitly allowed). Thread contract: Fetch() may be called concurrently.
#ifndef ISS_BLOB_HTTP_SOURCE_H_
#define ISS_BLOB_HTTP_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ports/blob_source.h"

namespace iss::blob {

struct HttpSourceOptions {
  // Host patterns allowed ("example.com", "*.example.com", "127.0.0.1:8081", "*").
  // Default: none, so every download is refused with a clear error.
  std::vector<std::string> allowed_hosts;
  // Allow loopback / private / link-local addresses (only for hosts also allowed above).
  // Default: false.
  bool allow_private = false;
  int64_t max_bytes = 10 * 1024 * 1024;  // Default: 10 MiB per download
  int timeout_ms = 10000;                // Default: 10 s for the whole transfer
  int max_redirects = 3;                 // Default: 3; each hop is checked again
};

class HttpSource : public engine::BlobSource {
 public:
  explicit HttpSource(HttpSourceOptions options);
  ~HttpSource() override;
  // True for http:// and https:// URLs (case-insensitive scheme).
  bool Accepts(std::string_view locator) const override;
  absl::StatusOr<std::string> Fetch(std::string_view url) const override;

 private:
  HttpSourceOptions options_;
};

}  // namespace iss::blob

#endif  // ISS_BLOB_HTTP_SOURCE_H_
