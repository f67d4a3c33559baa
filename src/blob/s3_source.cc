#include "blob/s3_source.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <utility>

#include "blob/transfer.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace iss::blob {
namespace {

using internal::CurlDeleter;
using internal::Lower;

// SHA-256 of the empty body: what libcurl 7.88's SigV4 signs as the payload hash of a GET,
// and what RGW needs in x-amz-content-sha256 (libcurl does not add that header).
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

bool Glob(std::string_view p, std::string_view s) {
  // Iterative '*' matching with backtracking to the last star.
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool HasBucket(const StorageProfile& p, const std::string& bucket) {
  for (const std::string& b : p.buckets) {
    if (b == "*" || b == bucket) return true;
  }
  return false;
}

// host[:port] of the profile's endpoint; false when the endpoint is not an http(s) URL.
bool EndpointHost(const StorageProfile& p, std::string* scheme, std::string* host,
                  std::string* port) {
  return internal::ParseUrl(p.endpoint, scheme, host, port) &&
         (*scheme == "http" || *scheme == "https");
}

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\"'"));
  s.erase(s.find_last_not_of(" \t\r\"'") + 1);
  return s;
}

// "access_key = ..." and "secret_key = ..." lines ('#' comments).
bool ReadKeyFile(const std::string& path, std::string* ak, std::string* sk) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (name == "access_key") *ak = value;
    if (name == "secret_key") *sk = value;
  }
  return !ak->empty() && !sk->empty();
}

// The value of <Code>...</Code> in an S3 error body, or "".
std::string ErrorCode(const std::string& body) {
  const size_t a = body.find("<Code>");
  if (a == std::string::npos) return "";
  const size_t b = body.find("</Code>", a);
  if (b == std::string::npos || b - a > 100) return "";
  return body.substr(a + 6, b - a - 6);
}

// The text of the first <name>...</name> in `xml`, or "".
std::string Element(const std::string& xml, const std::string& name) {
  const std::string open = "<" + name + ">", close = "</" + name + ">";
  const size_t a = xml.find(open);
  if (a == std::string::npos) return "";
  const size_t b = xml.find(close, a);
  if (b == std::string::npos) return "";
  return xml.substr(a + open.size(), b - a - open.size());
}

std::string XmlUnescape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string::npos) {
      out.push_back(s[i]);
      continue;
    }
    const std::string ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() > 1 && ent[0] == '#') {
      const long cp = ent[1] == 'x' ? std::strtol(ent.c_str() + 2, nullptr, 16)
                                    : std::strtol(ent.c_str() + 1, nullptr, 10);
      // UTF-8 encode the code point.
      if (cp < 0x80) {
        out.push_back(char(cp));
      } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
      }
    } else {
      out.append(s, i, semi - i + 1);  // unknown entity: kept as is
    }
    i = semi;
  }
  return out;
}

std::string Unquote(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

bool HostGlobMatch(std::string_view pattern, std::string_view host, std::string_view port) {
  const std::string p = Lower(std::string(pattern));
  std::string h = Lower(std::string(host));
  if (p.find(':') != std::string::npos) {
    if (port.empty()) return false;
    h += ":" + std::string(port);
  }
  return Glob(p, h);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

absl::StatusOr<std::optional<ObjectRef>> ResolveLocator(const std::vector<StorageProfile>& profiles,
                                                        std::string_view locator, bool prefix) {
  const std::string lower = Lower(std::string(locator.substr(0, 8)));
  if (lower.rfind("s3://", 0) == 0) {
    std::string rest(locator.substr(5));
    const size_t slash = rest.find('/');
    ObjectRef ref;
    ref.bucket = rest.substr(0, slash);
    ref.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (ref.bucket.empty() || (ref.key.empty() && !prefix)) {
      return Fail(Reason::kBlobNotFound, "(`s3://bucket/key` needs a bucket and a key)");
    }
    for (size_t i = 0; i < profiles.size(); ++i) {
      if (HasBucket(profiles[i], ref.bucket)) {
        ref.profile = int(i);
        return std::optional<ObjectRef>(std::move(ref));
      }
    }
    return Fail(Reason::kBlobClient,
                "(no storage profile serves bucket `" + ref.bucket + "`: see storage profiles)");
  }
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
    return std::optional<ObjectRef>();
  }
  std::unique_ptr<CURLU, CurlDeleter> u(curl_url());
  const std::string url(locator);
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return std::optional<ObjectRef>();  // the plain source reports malformed URLs
  }
  std::string scheme, host, port;
  if (!internal::ParseUrl(url, &scheme, &host, &port)) return std::optional<ObjectRef>();
  char* raw_path = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PATH, &raw_path, CURLU_URLDECODE) != CURLUE_OK) {
    return std::optional<ObjectRef>();
  }
  std::string path(raw_path);
  curl_free(raw_path);
  if (!path.empty() && path[0] == '/') path.erase(0, 1);
  for (size_t i = 0; i < profiles.size(); ++i) {
    const StorageProfile& p = profiles[i];
    bool claimed = false;
    for (const std::string& g : p.hosts) claimed = claimed || HostGlobMatch(g, host, port);
    if (!claimed) continue;
    std::string es, eh, ep;
    if (!EndpointHost(p, &es, &eh, &ep)) continue;
    ObjectRef ref;
    ref.profile = int(i);
    if (host == eh && port == ep) {  // path-style: /bucket/key
      const size_t slash = path.find('/');
      ref.bucket = path.substr(0, slash);
      ref.key = slash == std::string::npos ? "" : path.substr(slash + 1);
    } else {  // virtual-hosted: bucket.<endpoint host>/key or bucket.<anything>/key
      const std::string suffix = "." + eh;
      if (host.size() > suffix.size() &&
          host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
        ref.bucket = host.substr(0, host.size() - suffix.size());
      } else {
        ref.bucket = host.substr(0, host.find('.'));
      }
      ref.key = path;
    }
    if (!p.buckets.empty() && !HasBucket(p, ref.bucket)) continue;
    if (ref.bucket.empty() || (ref.key.empty() && !prefix)) {
      return Fail(Reason::kBlobNotFound, "(the URL names no object: a bucket and a key)");
    }
    return std::optional<ObjectRef>(std::move(ref));
  }
  return std::optional<ObjectRef>();
}

std::string RequestUrl(const StorageProfile& p, const ObjectRef& ref) {
  std::string scheme, host, port;
  EndpointHost(p, &scheme, &host, &port);
  const std::string hp = port.empty() ? host : host + ":" + port;
  if (p.virtual_hosted)
    return scheme + "://" + ref.bucket + "." + hp + "/" + UriEncode(ref.key, true);
  return scheme + "://" + hp + "/" + UriEncode(ref.bucket, false) + "/" + UriEncode(ref.key, true);
}

namespace {
std::atomic<uint64_t> next_source_id{1};
}  // namespace

S3Source::S3Source(S3SourceOptions options)
    : options_(std::move(options)), id_(next_source_id.fetch_add(1)) {
  internal::InitCurlOnce();
  for (size_t i = 0; i < options_.profiles.size(); ++i) {
    StorageProfile& p = options_.profiles[i];
    if (p.name.empty()) p.name = "profile" + std::to_string(i);
    Keys k;
    if (!p.access_key.empty() && !p.secret_key.empty()) {
      k = {p.access_key, p.secret_key};
    } else if (!p.access_key_env.empty() && !p.secret_key_env.empty() &&
               std::getenv(p.access_key_env.c_str()) && std::getenv(p.secret_key_env.c_str())) {
      k = {std::getenv(p.access_key_env.c_str()), std::getenv(p.secret_key_env.c_str())};
    } else if (!p.credentials_file.empty()) {
      ReadKeyFile(p.credentials_file, &k.access, &k.secret);
    }
    if (k.access.empty() || k.secret.empty()) {
      keys_.emplace_back();
    } else {
      keys_.emplace_back(std::move(k));
    }
    // Nothing secret stays in the options copy.
    p.access_key.clear();
    p.secret_key.clear();
  }
}

S3Source::~S3Source() = default;

// One easy handle per thread, source and profile, reset before each request: libcurl keeps
// the handle's connections open between requests (keep-alive; over TLS, one handshake per
// connection rather than per object). A connection was address-checked when it was opened,
// under the same profile's rule, so reusing it keeps the SSRF check. Sources are told apart
// by a process-unique id, never by address (a new source may reuse a freed one's address).
CURL* S3Source::Handle(int profile) const {
  thread_local std::map<std::pair<uint64_t, int>, std::unique_ptr<CURL, CurlDeleter>> handles;
  std::unique_ptr<CURL, CurlDeleter>& h = handles[{id_, profile}];
  if (h) {
    curl_easy_reset(h.get());
  } else {
    h.reset(curl_easy_init());
  }
  return h.get();
}

bool S3Source::Accepts(std::string_view locator) const {
  auto ref = ResolveLocator(options_.profiles, locator);
  return !ref.ok() || ref->has_value();
}

// One signed request. `query` is already canonical (sorted, encoded) or empty. On a transfer
// that completed, *status is the HTTP status and the body (or the HEAD's headers) is in t.
absl::Status S3Source::Send(const ObjectRef& ref, const std::string& query, bool head,
                            internal::Transfer* t, long* status, std::string* etag,
                            std::vector<std::pair<std::string, std::string>>* metadata) const {
  const StorageProfile& p = options_.profiles[size_t(ref.profile)];
  const std::optional<Keys>& keys = keys_[size_t(ref.profile)];
  if (!keys) {
    return Fail(Reason::kBlobClient, "(storage profile `" + p.name + "` has no credentials)");
  }
  std::string scheme, host, port;
  if (!EndpointHost(p, &scheme, &host, &port)) {
    return Fail(Reason::kBlobClient, "(storage profile `" + p.name + "`: bad endpoint)");
  }
  const std::string url = RequestUrl(p, ref) + (query.empty() ? "" : "?" + query);
  CURL* c = Handle(ref.profile);
  if (c == nullptr) return Fail(Reason::kBlobClient, "(curl init)");
  t->max_bytes = options_.max_bytes;
  t->allow_private = p.allow_private;
  const std::string sigv4 = "aws:amz:" + p.region + ":s3";
  std::unique_ptr<curl_slist, CurlDeleter> headers(
      curl_slist_append(nullptr, (std::string("x-amz-content-sha256: ") + kEmptySha256).c_str()));
  std::unique_ptr<curl_slist, CurlDeleter> connect_to;
  if (!p.connect_to.empty()) {
    connect_to.reset(curl_slist_append(nullptr, ("::" + p.connect_to).c_str()));
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(options_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min(options_.timeout_ms, 5000)));
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, keys->access.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, keys->secret.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "imagesearch/0.1");
  internal::InstallGuards(c, t);
  if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  const CURLcode rc = curl_easy_perform(c);
  const std::string where = "(" + ref.bucket + "/" + ref.key + ": ";
  if (t->refused_address) {
    return Fail(Reason::kBlobForbidden,
                "(storage profile `" + p.name + "` resolves to a loopback or private address)");
  }
  if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return Fail(Reason::kBlobUnreachable,
                where + "larger than " + std::to_string(options_.max_bytes) + " bytes)");
  }
  if (rc != CURLE_OK) {
    return Fail(Reason::kBlobUnreachable, where + curl_easy_strerror(rc) + ")");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  if (*status == 200) {
    if (head) {
      curl_off_t len = -1;
      curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
      t->body = std::to_string(int64_t(len));
    }
    struct curl_header* h = nullptr;
    if (etag && curl_easy_header(c, "ETag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
      *etag = Unquote(h->value);
    }
    if (metadata) {
      for (struct curl_header* h = nullptr;
           (h = curl_easy_nextheader(c, CURLH_HEADER, -1, h)) != nullptr;) {
        const std::string name = Lower(h->name);
        for (std::string_view prefix : {"x-amz-meta-", "x-obs-meta-"}) {
          if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
            metadata->emplace_back(name.substr(prefix.size()), h->value);
          }
        }
      }
    }
    return absl::OkStatus();
  }
  const std::string s3_code = ErrorCode(t->body);
  const std::string what =
      where + "HTTP " + std::to_string(*status) + (s3_code.empty() ? "" : " " + s3_code) + ")";
  if (*status == 404 && s3_code == "NoSuchBucket") return Fail(Reason::kBucketNotFound, what);
  if (*status == 404) return Fail(Reason::kBlobNotFound, what);
  if (*status == 403 || *status == 401) return Fail(Reason::kBlobDenied, what);
  return Fail(Reason::kBlobUnreachable, what);
}

absl::StatusOr<ObjectRef> S3Source::Claim(std::string_view locator, bool prefix) const {
  ASSIGN_OR_RETURN(std::optional<ObjectRef> ref,
                   ResolveLocator(options_.profiles, locator, prefix));
  if (!ref) return Fail(Reason::kBlobClient, "(no storage profile claims this URL)");
  return *std::move(ref);
}

absl::StatusOr<std::string> S3Source::Fetch(std::string_view locator) const {
  ASSIGN_OR_RETURN(ObjectRef ref, Claim(locator, false));
  internal::Transfer t;
  long status = 0;
  RETURN_IF_ERROR(Send(ref, "", false, &t, &status, nullptr));
  return std::move(t.body);
}

absl::StatusOr<engine::Blob> S3Source::FetchWithMetadata(std::string_view locator) const {
  ASSIGN_OR_RETURN(ObjectRef ref, Claim(locator, false));
  internal::Transfer t;
  long status = 0;
  engine::Blob blob;
  RETURN_IF_ERROR(Send(ref, "", false, &t, &status, &blob.etag, &blob.metadata));
  blob.bytes = std::move(t.body);
  return blob;
}

absl::StatusOr<std::optional<engine::BlobStat>> S3Source::Stat(std::string_view locator) const {
  ASSIGN_OR_RETURN(ObjectInfo info, Head(locator));
  return std::optional<engine::BlobStat>(engine::BlobStat{info.size, std::move(info.etag)});
}

absl::StatusOr<ObjectInfo> S3Source::Head(std::string_view locator) const {
  ASSIGN_OR_RETURN(ObjectRef ref, Claim(locator, false));
  internal::Transfer t;
  long status = 0;
  ObjectInfo info;
  info.key = ref.key;
  RETURN_IF_ERROR(Send(ref, "", true, &t, &status, &info.etag));
  info.size = std::atoll(t.body.c_str());
  return info;
}

absl::StatusOr<ListPage> S3Source::List(std::string_view prefix_locator, const std::string& token,
                                        int max_keys) const {
  ASSIGN_OR_RETURN(ObjectRef ref, Claim(prefix_locator, true));
  const std::string prefix = ref.key;
  ref.key.clear();
  // ListObjectsV2; libcurl 7.88 signs the query as given, so it must be canonical: sorted
  // by name, every value URI-encoded.
  std::string q;
  if (!token.empty()) q += "continuation-token=" + UriEncode(token, false) + "&";
  q += "list-type=2&max-keys=" + std::to_string(max_keys);
  if (!prefix.empty()) q += "&prefix=" + UriEncode(prefix, false);
  internal::Transfer t;
  long status = 0;
  RETURN_IF_ERROR(Send(ref, q, false, &t, &status, nullptr));
  ListPage page;
  const std::string& b = t.body;
  for (size_t at = b.find("<Contents>"); at != std::string::npos;
       at = b.find("<Contents>", at + 1)) {
    const size_t end = b.find("</Contents>", at);
    if (end == std::string::npos) break;
    const std::string item = b.substr(at, end - at);
    ObjectInfo o;
    o.key = XmlUnescape(Element(item, "Key"));
    o.etag = Unquote(XmlUnescape(Element(item, "ETag")));
    o.size = std::atoll(Element(item, "Size").c_str());
    page.objects.push_back(std::move(o));
  }
  if (Element(b, "IsTruncated") == "true") {
    page.next_token = XmlUnescape(Element(b, "NextContinuationToken"));
    if (page.next_token.empty()) {
      return Fail(Reason::kBlobUnreachable, "(a truncated listing without a continuation token)");
    }
  }
  return page;
}

bool S3Source::CanList(std::string_view prefix_locator) const {
  auto ref = ResolveLocator(options_.profiles, prefix_locator, /*prefix=*/true);
  return ref.ok() && ref->has_value();
}

absl::StatusOr<std::string> S3Source::LocatorOf(std::string_view prefix_locator,
                                                std::string_view key) const {
  ASSIGN_OR_RETURN(ObjectRef ref, Claim(prefix_locator, true));
  const std::string lower = Lower(std::string(prefix_locator.substr(0, 8)));
  if (lower.rfind("s3://", 0) == 0) return "s3://" + ref.bucket + "/" + std::string(key);
  // scheme://authority of the prefix, then its addressing (as ResolveLocator tells them
  // apart): /bucket/key when the URL's host is the endpoint's (path-style), else /key.
  const size_t authority = prefix_locator.find("://") + 3;
  const size_t path_at = prefix_locator.find('/', authority);
  const std::string origin(prefix_locator.substr(0, path_at));
  std::string scheme, host, port, es, eh, ep;
  const bool path_style = internal::ParseUrl(std::string(prefix_locator), &scheme, &host, &port) &&
                          EndpointHost(options_.profiles[size_t(ref.profile)], &es, &eh, &ep) &&
                          host == eh && port == ep;
  const std::string bucket_path = UriEncode(ref.bucket, false);
  std::string out = origin + "/";
  if (path_style) out += bucket_path + "/";
  return out + UriEncode(key, true);
}

absl::StatusOr<engine::ObjectPage> S3Source::ListObjects(std::string_view prefix_locator,
                                                         const std::string& token) const {
  ASSIGN_OR_RETURN(ListPage page, List(prefix_locator, token));
  engine::ObjectPage out;
  out.next_token = std::move(page.next_token);
  out.objects.reserve(page.objects.size());
  for (ObjectInfo& o : page.objects) {
    engine::ListedObject l;
    ASSIGN_OR_RETURN(l.locator, LocatorOf(prefix_locator, o.key));
    l.key = std::move(o.key);
    l.size = o.size;
    l.etag = std::move(o.etag);
    out.objects.push_back(std::move(l));
  }
  return out;
}

}  // namespace iss::blob
