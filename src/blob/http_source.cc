#include "blob/http_source.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "blob/transfer.h"
#include "common/status.h"

namespace iss::blob {
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
