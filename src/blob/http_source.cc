#include "blob/http_source.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/status.h"

namespace iss::blob {
namespace {

std::once_flag g_curl_init;

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsPrivate(const struct sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xFF;
    return b0 == 127 || b0 == 10 || b0 == 0 || (b0 == 172 && (b1 & 0xF0) == 16) ||
           (b0 == 192 && b1 == 168) || (b0 == 169 && b1 == 254) ||
           (b0 == 100 && (b1 & 0xC0) == 64) || b0 >= 224;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_UNSPECIFIED(a6) ||
        IN6_IS_ADDR_MULTICAST(a6) || IN6_IS_ADDR_SITELOCAL(a6)) {
      return true;
    }
    if ((a6->s6_addr[0] & 0xFE) == 0xFC) return true;  // fc00::/7 unique local
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, a6->s6_addr + 12, 4);
      return IsPrivate(reinterpret_cast<const sockaddr*>(&v4));
    }
    return false;
  }
  return true;  // unknown families are never allowed
}

struct Transfer {
  std::string body;
  int64_t max_bytes = 0;
  bool too_large = false;
  bool allow_private = false;
  bool refused_address = false;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (int64_t(t->body.size() + len) > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, len);
  return len;
}

// Checks the address libcurl is about to connect to: the resolved one, not the name.
curl_socket_t OnOpenSocket(void* user, curlsocktype, struct curl_sockaddr* addr) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->allow_private && IsPrivate(&addr->addr)) {
    t->refused_address = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// host[:port] of an http(s) URL, lower-cased; empty when not parseable.
bool ParseUrl(const std::string& url, std::string* scheme, std::string* host, std::string* port) {
  std::unique_ptr<CURLU, CurlDeleter> u(curl_url());
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &part, 0) != CURLUE_OK) return false;
  *scheme = Lower(part);
  curl_free(part);
  if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) != CURLUE_OK) return false;
  *host = Lower(part);
  curl_free(part);
  port->clear();
  if (curl_url_get(u.get(), CURLUPART_PORT, &part, 0) == CURLUE_OK) {
    *port = part;
    curl_free(part);
  }
  return true;
}

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
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}
HttpSource::~HttpSource() = default;

bool HttpSource::Accepts(std::string_view locator) const {
  std::string p = Lower(std::string(locator.substr(0, 8)));
  return p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0;
}

absl::StatusOr<std::string> HttpSource::Fetch(std::string_view start_url) const {
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
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options_.max_bytes));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
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
