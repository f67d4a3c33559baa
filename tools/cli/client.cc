#include "client.h"

#include <curl/curl.h>

#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include "auth/crypto.h"
#include "auth/signer.h"
#include "common/status.h"

namespace iss::cli {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t HeaderLine(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  constexpr std::string_view kName = "x-request-id:";
  if (line.size() > kName.size()) {
    std::string head = line.substr(0, kName.size());
    for (char& c : head) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) {
      std::string value = line.substr(kName.size());
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      *static_cast<std::string*>(out) = value;
    }
  }
  return size * n;
}

// "http://h:1/x" -> "h:1": the Host header curl would send, which the signature covers.
std::string HostOf(const std::string& endpoint) {
  std::string rest =
      endpoint.substr(endpoint.find("://") == std::string::npos ? 0 : endpoint.find("://") + 3);
  return rest.substr(0, rest.find('/'));
}

std::string SdkDateNow() { return auth::SdkDate(std::time(nullptr)); }

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Client::Client(Credentials credentials) : credentials_(std::move(credentials)) {
  while (!credentials_.endpoint.empty() && credentials_.endpoint.back() == '/') {
    credentials_.endpoint.pop_back();
  }
}

absl::StatusOr<Response> Client::Call(const std::string& method, const std::string& path,
                                      const std::string& body) const {
  auth::Headers headers = {{"Host", HostOf(credentials_.endpoint)}};
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  if (!credentials_.ak.empty() && !credentials_.sk.empty()) {
    headers.emplace_back("X-Sdk-Date", SdkDateNow());
    std::vector<std::string> names;
    std::string names_text;
    for (const auto& [name, value] : headers) {
      std::string lower = name;
      for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
      names.push_back(lower);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) names_text += (names_text.empty() ? "" : ";") + n;
    const size_t q = path.find('?');
    const std::string raw_path = path.substr(0, q);
    const std::string raw_query = q == std::string::npos ? "" : path.substr(q + 1);
    const std::string canonical = auth::CanonicalRequest(method, raw_path, raw_query, headers,
                                                         names, names_text, auth::Sha256Hex(body));
    const std::string date = headers.back().second;
    headers.emplace_back(
        "Authorization",
        "SDK-HMAC-SHA256 Access=" + credentials_.ak + ", SignedHeaders=" + names_text +
            ", Signature=" + auth::Sign(credentials_.sk, auth::StringToSign(date, canonical)));
  } else if (!credentials_.token.empty()) {
    headers.emplace_back("X-Auth-Token", credentials_.token);
  }

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Fail(Reason::kInternal, "(libcurl init)");
  std::unique_ptr<curl_slist, SlistDeleter> list;
  curl_slist* raw = nullptr;
  for (const auto& [name, value] : headers) {
    raw = curl_slist_append(raw, (name + ": " + value).c_str());
  }
  raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip for big bodies
  list.reset(raw);
  Response out;
  const std::string url = credentials_.endpoint + path;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderLine);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out.request_id);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, long(credentials_.timeout_s));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (credentials_.insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return Fail(Reason::kUnavailable, "(" + url + ": " + curl_easy_strerror(rc) + ")");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

}  // namespace iss::cli
