#include "blob/http_source.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

#include "blob/transfer.h"
#include "common/status.h"

namespace iss::blob {
namespace {

bool IsInternalV4(uint32_t a) {
  const uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xFF, b2 = (a >> 8) & 0xFF;
  return b0 == 127 || b0 == 10 || b0 == 0 || (b0 == 172 && (b1 & 0xF0) == 16) ||
         (b0 == 192 && b1 == 168) || (b0 == 169 && b1 == 254) ||
         (b0 == 100 && (b1 & 0xC0) == 64) ||                // 100.64/10 carrier-grade NAT
         (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) ||  // 192.0.0/24, 192.0.2/24
         (b0 == 198 && (b1 & 0xFE) == 18) ||                // 198.18/15 benchmarking
         (b0 == 198 && b1 == 51 && b2 == 100) || (b0 == 203 && b1 == 0 && b2 == 113) ||
         b0 >= 224;  // multicast, reserved, broadcast
}

uint32_t V4At(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// Every IPv6 form that carries an IPv4 address is judged by that address (and the ones
// that only make sense inside a site are internal outright): a v4 loopback or private
// address must not be reachable by spelling it as v6.
bool IsInternalV6(const uint8_t* b) {
  static constexpr uint8_t kZero[16] = {};
  auto prefix = [b](std::initializer_list<uint8_t> p) {
    size_t i = 0;
    for (uint8_t v : p) {
      if (b[i++] != v) return false;
    }
    return true;
  };
  if (std::memcmp(b, kZero, 12) == 0) return true;  // ::/96: ::, ::1, IPv4-compatible
  if (std::memcmp(b, kZero, 10) == 0) {
    // ::ffff:a.b.c.d (IPv4-mapped) and anything else under ::/80 (nothing public there)
    return !(b[10] == 0xFF && b[11] == 0xFF) || IsInternalV4(V4At(b + 12));
  }
  if (std::memcmp(b, kZero, 8) == 0 && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0) {
    return IsInternalV4(V4At(b + 12));  // ::ffff:0:a.b.c.d (SIIT)
  }
  if (prefix({0x00, 0x64, 0xFF, 0x9B}) && std::memcmp(b + 4, kZero, 8) == 0) {
    return IsInternalV4(V4At(b + 12));  // 64:ff9b::/96 NAT64
  }
  if (prefix({0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01})) return true;  // 64:ff9b:1::/48 local NAT64
  if (prefix({0x01, 0x00}) && std::memcmp(b + 2, kZero, 6) == 0) return true;  // 100::/64
  if (prefix({0x20, 0x02})) return IsInternalV4(V4At(b + 2));                  // 6to4
  if (prefix({0x20, 0x01, 0x00, 0x00})) {  // Teredo: server v4, then the client's, inverted
    const uint8_t client[4] = {uint8_t(~b[12]), uint8_t(~b[13]), uint8_t(~b[14]), uint8_t(~b[15])};
    return IsInternalV4(V4At(b + 4)) || IsInternalV4(V4At(client));
  }
  if (prefix({0x20, 0x01, 0x0D, 0xB8})) return true;  // 2001:db8::/32 documentation
  if (prefix({0x20, 0x01, 0x00, 0x02}) && b[4] == 0 && b[5] == 0) return true;  // benchmarking
  // ISATAP interface identifiers (::0:5efe:a.b.c.d, ::200:5efe:a.b.c.d) under any prefix.
  if ((b[8] & 0xFD) == 0 && b[9] == 0 && b[10] == 0x5E && b[11] == 0xFE) {
    if (IsInternalV4(V4At(b + 12))) return true;
  }
  if (b[0] == 0xFF) return true;                           // multicast
  if ((b[0] & 0xFE) == 0xFC) return true;                  // fc00::/7 unique local
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return true;  // fec0::/10 site-local
  return false;
}

}  // namespace

bool IsInternalAddress(const struct sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return IsInternalV4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    return IsInternalV6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr);
  }
  return true;  // unknown families are never allowed
}

bool IsInternalAddress(std::string_view ip) {
  const std::string text(ip);
  sockaddr_in v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return IsInternalAddress(reinterpret_cast<const sockaddr*>(&v4));
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    return IsInternalAddress(reinterpret_cast<const sockaddr*>(&v6));
  }
  return true;  // not an address: never allowed
}

namespace {

using internal::CurlDeleter;
using internal::Lower;
using internal::ParseUrl;
using internal::Transfer;

bool HostAllowed(const std::vector<std::string>& allowed, const std::string& host,
                 const std::string& port) {
  const std::string with_port = port.empty() ? host : host + ":" + port;
  for (const std::string& raw : allowed) {
    std::string p = Lower(raw);
    if (p == "*") return true;
    if (p == host || p == with_port) return true;
    if (p.size() > 2 && p[0] == '*' && p[1] == '.') {
      std::string suffix = p.substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

HttpSource::HttpSource(HttpSourceOptions options) : options_(std::move(options)) {
  internal::InitCurlOnce();
}
HttpSource::~HttpSource() = default;

bool HttpSource::Accepts(std::string_view locator) const {
  std::string p = Lower(std::string(locator.substr(0, 8)));
  return p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0;
}

absl::StatusOr<std::string> HttpSource::Fetch(std::string_view start_url) const {
  struct InFlight {
    std::atomic<int>* n;
    ~InFlight() { n->fetch_sub(1); }
  } in_flight{&in_flight_};
  if (const int now = in_flight_.fetch_add(1);
      options_.max_concurrent > 0 && now >= options_.max_concurrent) {
    return Fail(Reason::kBlobUnreachable, "(" + std::to_string(now) +
                                              " downloads are in progress, the server's maximum; "
                                              "try again later)");
  }
  std::string url(start_url);
  for (int hop = 0; hop <= options_.max_redirects; ++hop) {
    std::string scheme, host, port;
    if (!ParseUrl(url, &scheme, &host, &port) || (scheme != "http" && scheme != "https")) {
      return Fail(Reason::kBlobUnreachable, "(not an http(s) URL: " + url + ")");
    }
    if (!HostAllowed(options_.allowed_hosts, host, port)) {
      return Fail(Reason::kBlobForbidden,
                  "(host `" + host + "` is not on the server's download allow-list)");
    }
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return Fail(Reason::kInternal, "(curl init)");
    Transfer t;
    t.max_bytes = options_.max_bytes;
    t.allow_private = options_.allow_private;
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(options_.timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min(options_.timeout_ms, 5000)));
    internal::InstallGuards(c, &t);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "imagesearch/0.1");
    CURLcode rc = curl_easy_perform(c);
    if (t.refused_address) {
      return Fail(Reason::kBlobForbidden,
                  "(`" + host + "` resolves to a loopback or private address)");
    }
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return Fail(Reason::kBlobUnreachable,
                  "(the image is larger than " + std::to_string(options_.max_bytes) + " bytes)");
    }
    if (rc != CURLE_OK) {
      return Fail(Reason::kBlobUnreachable, std::string("(") + curl_easy_strerror(rc) + ")");
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 300 && code < 400) {
      char* next = nullptr;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
      if (!next) return Fail(Reason::kBlobUnreachable, "(redirect without a location)");
      url = next;
      continue;
    }
    if (code != 200) {
      return Fail(Reason::kBlobUnreachable,
                  "(HTTP status " + std::to_string(code) + " from " + host + ")");
    }
    return std::move(t.body);
  }
  return Fail(Reason::kBlobUnreachable, "(too many redirects)");
}

}  // namespace iss::blob
