#include "engine/jobs/job_codec.h"

#include <cstdio>
#include <cstdlib>

#include "common/status.h"

namespace iss::engine::jobs_internal {
namespace {

int64_t ToInt(const std::map<std::string, std::string>& f, const std::string& name,
              int64_t fallback) {
  auto it = f.find(name);
  return it == f.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
}

std::string Get(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

// Splits on `sep` (the parts are escaped, so `sep` never occurs inside one).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t at = 0;
  for (;;) {
    const size_t next = s.find(sep, at);
    out.push_back(
        s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

std::string EncodeTags(const model::Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out += ';';
    out += Escape(k) + "=" + Escape(v);
  }
  return out;
}

model::Tags DecodeTags(std::string_view s) {
  model::Tags tags;
  if (s.empty()) return tags;
  for (std::string_view kv : Split(s, ';')) {
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    tags[Unescape(kv.substr(0, eq))] = Unescape(kv.substr(eq + 1));
  }
  return tags;
}

}  // namespace

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '%' || c == '\n' || c == '\t' || c == '=' || c == ';' || c == '\r') {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", unsigned(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::strtol(std::string(s.substr(i + 1, 2)).c_str(), nullptr, 16));
      i += 2;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string EncodeFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) out += Escape(name) + "=" + Escape(value) + "\n";
  return out;
}

std::map<std::string, std::string> DecodeFields(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : Split(text, '\n')) {
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    out[Unescape(line.substr(0, eq))] = Unescape(line.substr(eq + 1));
  }
  return out;
}

std::string EncodeSpec(const JobSpec& spec, int64_t manifest_entries) {
  return EncodeFields({{"kind", std::string(JobKindName(spec.kind))},
                       {"prefix", spec.prefix},
                       {"manifest_entries", std::to_string(manifest_entries)},
                       {"interval_ms", std::to_string(spec.interval_ms)},
                       {"tags", EncodeTags(spec.tags)},
                       {"notify_token", spec.notify_token},
                       {"folder_tag", spec.folder_tag},
                       {"metadata_tags", spec.metadata_tags ? "1" : "0"}});
}

absl::StatusOr<JobSpec> DecodeSpec(std::string_view text, int64_t* manifest_entries) {
  const auto f = DecodeFields(text);
  JobSpec spec;
  const std::string kind = Get(f, "kind");
  if (kind == "import") {
    spec.kind = JobKind::kImport;
  } else if (kind == "sync") {
    spec.kind = JobKind::kSync;
  } else {
    return Fail(Reason::kCorrupt, "(a job spec of an unknown kind `" + kind + "`)");
  }
  spec.prefix = Get(f, "prefix");
  spec.interval_ms = ToInt(f, "interval_ms", 60000);
  spec.tags = DecodeTags(Get(f, "tags"));
  spec.notify_token = Get(f, "notify_token");
  spec.folder_tag = Get(f, "folder_tag");
  spec.metadata_tags = Get(f, "metadata_tags") == "1";
  *manifest_entries = ToInt(f, "manifest_entries", 0);
  return spec;
}

std::string EncodeProgress(const JobProgress& p) {
  return EncodeFields({{"pass", std::to_string(p.pass)},
                       {"listed", std::to_string(p.listed)},
                       {"done", std::to_string(p.done)},
                       {"skipped", std::to_string(p.skipped)},
                       {"failed", std::to_string(p.failed)},
                       {"removed", std::to_string(p.removed)},
                       {"listing_complete", p.listing_complete ? "1" : "0"},
                       {"total", std::to_string(p.total)},
                       {"pass_started_ms", std::to_string(p.pass_started_ms)},
                       {"last_pass_ms", std::to_string(p.last_pass_ms)},
                       {"images_per_s", std::to_string(p.images_per_s)},
                       {"eta_ms", std::to_string(p.eta_ms)},
                       {"error", p.error}});
}

JobProgress DecodeProgress(std::string_view text) {
  const auto f = DecodeFields(text);
  JobProgress p;
  p.pass = ToInt(f, "pass", 1);
  p.listed = ToInt(f, "listed", 0);
  p.done = ToInt(f, "done", 0);
  p.skipped = ToInt(f, "skipped", 0);
  p.failed = ToInt(f, "failed", 0);
  p.removed = ToInt(f, "removed", 0);
  p.listing_complete = Get(f, "listing_complete") == "1";
  p.total = ToInt(f, "total", -1);
  p.pass_started_ms = ToInt(f, "pass_started_ms", 0);
  p.last_pass_ms = ToInt(f, "last_pass_ms", 0);
  p.images_per_s = std::strtod(Get(f, "images_per_s").c_str(), nullptr);
  p.eta_ms = ToInt(f, "eta_ms", -1);
  p.error = Get(f, "error");
  return p;
}

std::string EncodeMark(const KeyMark& m) {
  return std::to_string(m.pass) + "\t" + char(m.outcome) + "\t" + Escape(m.etag) + "\t" +
         std::to_string(m.size);
}

std::optional<KeyMark> DecodeMark(std::string_view text) {
  const auto parts = Split(text, '\t');
  if (parts.size() != 4 || parts[1].size() != 1) return std::nullopt;
  KeyMark m;
  m.pass = std::strtoll(std::string(parts[0]).c_str(), nullptr, 10);
  const char o = parts[1][0];
  if (o != 'd' && o != 's' && o != 'f' && o != 'r') return std::nullopt;
  m.outcome = Outcome(o);
  m.etag = Unescape(parts[2]);
  m.size = std::strtoll(std::string(parts[3]).c_str(), nullptr, 10);
  return m;
}

std::string EncodeFailure(const FailureMark& f) {
  return std::to_string(f.pass) + "\t" + std::string(ReasonName(f.reason)) + "\t" +
         Escape(f.locator) + "\t" + Escape(f.message);
}

std::optional<FailureMark> DecodeFailure(std::string_view text) {
  const auto parts = Split(text, '\t');
  if (parts.size() != 4) return std::nullopt;
  FailureMark f;
  f.pass = std::strtoll(std::string(parts[0]).c_str(), nullptr, 10);
  f.reason = ReasonFromName(parts[1]).value_or(Reason::kInternal);
  f.locator = Unescape(parts[2]);
  f.message = Unescape(parts[3]);
  return f;
}

std::string ManifestChunkName(size_t chunk) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "m/%06zu", chunk);
  return buf;
}

std::string EncodeManifest(const ManifestEntry* entries, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += Escape(entries[i].locator) + "\t" + Escape(entries[i].key) + "\t" +
           EncodeTags(entries[i].tags) + "\n";
  }
  return out;
}

absl::StatusOr<std::vector<ManifestEntry>> DecodeManifest(std::string_view text) {
  std::vector<ManifestEntry> out;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    const auto parts = Split(line, '\t');
    if (parts.size() != 3) return Fail(Reason::kCorrupt, "(a stored manifest line is damaged)");
    ManifestEntry e;
    e.locator = Unescape(parts[0]);
    e.key = Unescape(parts[1]);
    e.tags = DecodeTags(parts[2]);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace iss::engine::jobs_internal
