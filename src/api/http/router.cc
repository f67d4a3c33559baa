#include "api/http/router.h"

#include <cctype>

namespace iss::api {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      int h = i + 1 < in.size() ? Hex(in[i + 1]) : -1;
      int l = i + 2 < in.size() ? Hex(in[i + 2]) : -1;
      if (h < 0 || l < 0) return false;
      out->push_back(char(h * 16 + l));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

void Router::Add(Route route) {
  segments_.push_back(Split(route.pattern));
  routes_.push_back(std::move(route));
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  Add(std::move(r));
}

Router::Match Router::Find(std::string_view method, std::string_view raw_path) const {
  Match best;
  std::vector<std::string> segments;
  for (const std::string& s : Split(raw_path)) {
    std::string d;
    if (!PercentDecode(s, &d)) return best;
    segments.push_back(std::move(d));
  }
  int64_t best_literals = -1;
  for (size_t ri = 0; ri < routes_.size(); ++ri) {
    const Route& r = routes_[ri];
    const std::vector<std::string>& pattern = segments_[ri];
    if (pattern.size() != segments.size()) continue;
    RouteParams params;
    int64_t literals = 0;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& p = pattern[i];
      literals *= 2;  // an earlier literal segment outranks any later ones
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[i].empty())
          ok = false;
        else
          params[p.substr(1, p.size() - 2)] = segments[i];
      } else {
        ok = p == segments[i];
        ++literals;
      }
    }
    if (!ok) continue;
    best.path_matched = true;
    if (r.method == method && literals > best_literals) {
      best_literals = literals;
      best.route = &r;
      best.params = std::move(params);
    }
  }
  return best;
}

}  // namespace iss::api
