#include "api/http/client_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

#include "absl/strings/numbers.h"
#include "common/status.h"

namespace iss::api {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t i = 0;;) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) return out;
    i = j + 1;
  }
}

// The address as 16 bytes (IPv4 mapped into ::ffff:0:0/96), or nullopt.
std::optional<std::array<uint8_t, 16>> ToBytes(std::string_view text) {
  std::string s(Trim(text));
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::array<uint8_t, 16> out{};
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool IsV4Mapped(const std::array<uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

}  // namespace

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& e : entries) {
    std::vector<std::string_view> parts = Split(e, '/');
    std::optional<std::array<uint8_t, 16>> bytes = ToBytes(parts[0]);
    if (!bytes || parts.size() > 2) {
      return Fail(Reason::kInvalidArgument, "(trusted proxy `" + e + "` is not an address/CIDR)");
    }
    Net n;
    n.bytes = *bytes;
    if (parts.size() == 2) {
      int prefix = -1;
      const int max = IsV4Mapped(*bytes) ? 32 : 128;
      if (!absl::SimpleAtoi(std::string(parts[1]), &prefix) || prefix < 0 || prefix > max) {
        return Fail(Reason::kInvalidArgument, "(trusted proxy `" + e + "`: bad prefix)");
      }
      n.prefix = IsV4Mapped(*bytes) ? prefix + 96 : prefix;
    }
    out.nets_.push_back(n);
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view address) const {
  std::optional<std::array<uint8_t, 16>> b = ToBytes(address);
  if (!b) return false;
  for (const Net& n : nets_) {
    bool match = true;
    for (int bit = 0; bit < n.prefix && match; bit += 8) {
      const int bits = std::min(8, n.prefix - bit);
      const uint8_t mask = uint8_t(0xff << (8 - bits));
      match = ((*b)[bit / 8] & mask) == (n.bytes[bit / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::ClientAddress(const std::string& peer,
                                          const std::string* forwarded_for) const {
  if (forwarded_for == nullptr || nets_.empty() || !Contains(peer)) return peer;
  std::vector<std::string_view> hops = Split(*forwarded_for, ',');
  std::string client = peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::string_view hop = Trim(*it);
    if (!ToBytes(hop)) break;  // not an address: stop believing the header here
    client = std::string(hop);
    if (!Contains(hop)) break;
  }
  return client;
}

}  // namespace iss::api
