#include "auth/signer.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "absl/strings/match.h"
#include "auth/crypto.h"
#include "common/status.h"

namespace iss::auth {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(char(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string Encode(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, absl::string_view(name.data(), name.size()))) return &v;
  }
  return nullptr;
}

absl::StatusOr<ParsedAuthorization> ParseAuthorization(std::string_view h) {
  constexpr std::string_view kScheme = "SDK-HMAC-SHA256 ";
  if (h.substr(0, kScheme.size()) != kScheme) {
    return Fail(Reason::kUnauthenticated, "(Authorization is not SDK-HMAC-SHA256)");
  }
  h.remove_prefix(kScheme.size());
  ParsedAuthorization out;
  while (!h.empty()) {
    size_t comma = h.find(',');
    std::string part = Trim(h.substr(0, comma));
    h = comma == std::string_view::npos ? std::string_view() : h.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string::npos) continue;
    std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "Access")
      out.access_key = value;
    else if (key == "SignedHeaders")
      out.signed_headers_text = value;
    else if (key == "Signature")
      out.signature = Lower(value);
  }
  if (out.access_key.empty() || out.signed_headers_text.empty() || out.signature.empty()) {
    return Fail(Reason::kUnauthenticated,
                "(Authorization lacks Access, SignedHeaders or Signature)");
  }
  std::string_view list = out.signed_headers_text;
  while (!list.empty()) {
    size_t semi = list.find(';');
    out.signed_headers.push_back(Lower(list.substr(0, semi)));
    list = semi == std::string_view::npos ? std::string_view() : list.substr(semi + 1);
  }
  return out;
}

std::string CanonicalUri(std::string_view raw_path) {
  std::string decoded = Decode(raw_path);
  std::string out;
  size_t i = 0;
  while (i <= decoded.size()) {
    size_t j = decoded.find('/', i);
    if (j == std::string::npos) j = decoded.size();
    if (i > 0) out.push_back('/');
    out += Encode(std::string_view(decoded).substr(i, j - i));
    i = j + 1;
  }
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out;
}

std::string CanonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view item = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string k = Decode(item.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : Decode(item.substr(eq + 1));
    pairs.emplace_back(Encode(k), Encode(v));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

std::string CanonicalRequest(std::string_view method, std::string_view raw_path,
                             std::string_view raw_query, const Headers& headers,
                             const std::vector<std::string>& signed_headers,
                             std::string_view signed_headers_text, std::string_view body_hash) {
  std::string out(method);
  for (char& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  out += "\n" + CanonicalUri(raw_path) + "\n" + CanonicalQuery(raw_query) + "\n";
  for (const std::string& name : signed_headers) {
    const std::string* v = FindHeader(headers, name);
    out += name + ":" + (v ? Trim(*v) : std::string()) + "\n";
  }
  out += "\n";
  out.append(signed_headers_text);
  out += "\n";
  out.append(body_hash);
  return out;
}

std::string StringToSign(std::string_view sdk_date, std::string_view canonical_request) {
  return "SDK-HMAC-SHA256\n" + std::string(sdk_date) + "\n" + Sha256Hex(canonical_request);
}

std::string Sign(std::string_view secret_key, std::string_view string_to_sign) {
  return Hex(HmacSha256(secret_key, string_to_sign));
}

std::string SdkDate(int64_t epoch_s) {
  std::time_t t = std::time_t(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[20];
  std::strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
  return date;
}

}  // namespace iss::auth
