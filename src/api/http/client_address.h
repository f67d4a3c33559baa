// The client's address of a request: the peer's, or — when the peer is a trusted proxy —
// the one it reports in X-Forwarded-For. Rate limits and the access log key on it.
//
//   ASSIGN_OR_RETURN(TrustedProxies proxies, TrustedProxies::Parse({"10.0.0.0/8", "::1"}));
//   std::string client = proxies.ClientAddress(peer, request.Header("X-Forwarded-For"));
//
// X-Forwarded-For is read from the right: each proxy appends the address it received the
// request from, so the right-most entry that is not itself a trusted proxy is the client
// (entries further left are whatever the client chose to send, and are not believed).
// Without trusted proxies the header is ignored. Thread contract: immutable after Parse().
#ifndef ISS_API_HTTP_CLIENT_ADDRESS_H_
#define ISS_API_HTTP_CLIENT_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::api {

class TrustedProxies {
 public:
  // Each entry is an IPv4/IPv6 address or a CIDR ("10.0.0.0/8", "fd00::/8").
  // kInvalidArgument on a malformed entry.
  static absl::StatusOr<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  bool Contains(std::string_view address) const;
  // `peer` itself unless it is trusted and `forwarded_for` (may be null) names a client.
  std::string ClientAddress(const std::string& peer, const std::string* forwarded_for) const;

 private:
  struct Net {
    std::array<uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;
  };
  std::vector<Net> nets_;
};

}  // namespace iss::api

#endif  // ISS_API_HTTP_CLIENT_ADDRESS_H_
