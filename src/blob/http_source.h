// Downloads of images for `path` (libcurl), restricted to hosts the operator allows.
//
//   fetch::Fetcher fetcher(options);
//   ASSIGN_OR_RETURN(std::string bytes, fetcher.Fetch("http://127.0.0.1:8081/a.jpg"));
//
// Errors: IS.2000 download failed (HTTP error, timeout, too large, too many redirects),
// IS.2011 host not allowed (not on the allow-list, or a loopback/private address that is
// not explicitly allowed). Thread contract: Fetch() may be called concurrently.
#ifndef ISS_FETCH_FETCHER_H_
#define ISS_FETCH_FETCHER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::fetch {

struct FetchOptions {
  // Host patterns allowed ("example.com", "*.example.com", "127.0.0.1:8081").
  // Default: none, so every download is refused with a clear error.
  std::vector<std::string> allowed_hosts;
  // Allow loopback / private / link-local addresses (only for hosts also allowed above).
  // Default: false.
  bool allow_private_addresses = false;
  int64_t max_bytes = 10 * 1024 * 1024;  // Default: 10 MiB
  int timeout_ms = 10000;                // Default: 10 s for the whole transfer
  int max_redirects = 3;                 // Default: 3; each hop is checked again
};

class Fetcher {
 public:
  explicit Fetcher(FetchOptions options);
  ~Fetcher();
  // REQUIRES: url is http:// or https://.
  absl::StatusOr<std::string> Fetch(const std::string& url) const;
  // True when `path` looks like a URL this fetcher would try (http/https scheme).
  static bool LooksLikeUrl(const std::string& path);

 private:
  FetchOptions options_;
};

}  // namespace iss::fetch

#endif  // ISS_FETCH_FETCHER_H_
