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

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ports/blob_source.h"

struct sockaddr;

namespace iss::blob {

// True for an address `path` downloads must not reach unless fetch.allow_private is set:
// IPv4 loopback, private, link-local, carrier-grade NAT, reserved and multicast ranges;
// IPv6 loopback, unique-local, link/site-local, multicast, documentation; and every IPv6
// form that embeds an IPv4 address judged by that address (IPv4-mapped ::ffff:0:0/96,
// IPv4-compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, Teredo
// 2001::/32 with its obfuscated client, ISATAP). Unknown families and non-addresses: true.
bool IsInternalAddress(const struct sockaddr* sa);
bool IsInternalAddress(std::string_view ip);  // "127.0.0.1", "::ffff:10.0.0.1"

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
  // Downloads in progress at once; one more fails at once (kBlobUnreachable) instead of
  // waiting, so slow servers cannot hold every handler thread. Default: 0, no limit (the
  // server sets it from fetch.max_concurrent, by default worker_threads - 1).
  int max_concurrent = 0;
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
  mutable std::atomic<int> in_flight_{0};
};

}  // namespace iss::blob

#endif  // ISS_BLOB_HTTP_SOURCE_H_
