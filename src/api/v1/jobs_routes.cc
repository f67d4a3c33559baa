#include "api/v1/jobs_routes.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/v1/csv.h"
#include "api/v1/errors.h"
#include "api/v1/request_json.h"
#include "api/v1/v1_route.h"
#include "common/status_macros.h"
#include "engine/jobs/job_runner.h"

namespace iss::api::v1 {
// Object metadata read as tags (engine/jobs) obeys the same limit as a request's tags.
static_assert(kMaxTagLength == model::kMaxTagValueChars);

namespace {

using nlohmann::json;

constexpr char kJobs[] = "/v1/{project_id}/image-search/import-jobs";
constexpr size_t kMaxLocator = 2048;
constexpr size_t kMaxFailures = 100000;  // rows in one failure report
constexpr int64_t kDefaultIntervalMs = 60000;

// Creation: a listing that fails for the network is "the folder list cannot be obtained";
// a store that cannot record the job, "the task cannot be created".
constexpr CodeOverride kCreateRoute[] = {{Reason::kBlobUnreachable, &Code("IS.3050")},
                                         {Reason::kStorage, &Code("IS.4005")},
                                         {Reason::kNoSpace, &Code("IS.4005")},
                                         {Reason::kNoQuery, &Code("IS.4005")}};

// A manifest key under `base`: s3:// bases take it as is, URL bases percent-encoded.
std::string JoinKey(std::string base, const std::string& key) {
  if (!base.empty() && base.back() != '/') base += '/';
  if (base.rfind("s3://", 0) == 0) return base + key;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      base += char(c);
    } else {
      base += '%';
      base += kHex[c >> 4];
      base += kHex[c & 15];
    }
  }
  return base;
}

absl::StatusOr<engine::ManifestEntry> ParseEntry(const json& e, const std::string& base,
                                                 size_t line) {
  const std::string where = "(manifest entry " + std::to_string(line) + ": ";
  if (!e.is_object()) return CodeError(Code("IS.0008"), where + "not a JSON object)");
  ASSIGN_OR_RETURN(std::optional<std::string> url, OptionalString(e, "url"));
  ASSIGN_OR_RETURN(std::optional<std::string> key, OptionalString(e, "key"));
  ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(e, "path"));
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(e, "tags", Code("IS.1003")));
  engine::ManifestEntry out;
  if (url && !url->empty()) {
    out.locator = *url;
  } else if (key && !key->empty()) {
    if (base.empty()) {
      return CodeError(Code("IS.3051"), where + "`key` needs the job's `bucket`)");
    }
    out.locator = JoinKey(base, *key);
  } else {
    return CodeError(Code("IS.0001"), where + "`url` or `key` is required)");
  }
  if (Utf8Length(out.locator) > kMaxLocator || (path && Utf8Length(*path) > kMaxLocator)) {
    return CodeError(Code("IS.0016"), where + "longer than 2048 characters)");
  }
  if (path) out.key = *path;
  if (tags) out.tags = std::move(*tags);
  return out;
}

// CSV manifest text: a header row naming the columns (`url` or `key`, optionally `path`;
// every other column is a tag name), then one entry a row; an empty cell is no value.
absl::StatusOr<std::vector<engine::ManifestEntry>> ParseCsvManifest(const std::string& text,
                                                                    const std::string& base) {
  absl::StatusOr<std::vector<CsvRecord>> records = ParseCsv(text);
  if (!records.ok()) {
    return CodeError(Code("IS.0002"),
                     "(the CSV manifest: " + std::string(records.status().message()) + ")");
  }
  std::vector<engine::ManifestEntry> out;
  if (records->empty()) return out;
  const std::vector<std::string>& header = records->front().fields;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty() || Utf8Length(header[i]) > kMaxTagLength) {
      return CodeError(Code("IS.0002"), "(the CSV manifest's header: column " +
                                            std::to_string(i + 1) + " needs a name of 1.." +
                                            std::to_string(kMaxTagLength) + " characters)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (header[j] == header[i]) {
        return CodeError(Code("IS.0002"), "(the CSV manifest's header names a column twice)");
      }
    }
  }
  for (size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& rec = (*records)[r];
    if (rec.fields.size() != header.size()) {
      return CodeError(Code("IS.0002"), "(the CSV manifest's line " + std::to_string(rec.line) +
                                            " has " + std::to_string(rec.fields.size()) +
                                            " fields, its header " + std::to_string(header.size()) +
                                            ")");
    }
    json e = json::object();
    for (size_t i = 0; i < header.size(); ++i) {
      if (rec.fields[i].empty()) continue;
      if (header[i] == "url" || header[i] == "key" || header[i] == "path") {
        e[header[i]] = rec.fields[i];
      } else {
        e["tags"][header[i]] = rec.fields[i];
      }
    }
    ASSIGN_OR_RETURN(engine::ManifestEntry entry, ParseEntry(e, base, rec.line));
    out.push_back(std::move(entry));
  }
  return out;
}

// `manifest`: an array of entries, JSON Lines text (one entry a line) or CSV text (its
// first line, the header, does not start with `{`).
absl::StatusOr<std::vector<engine::ManifestEntry>> ParseManifest(const json& m,
                                                                 const std::string& base) {
  std::vector<engine::ManifestEntry> out;
  if (m.is_string()) {
    const std::string& text = m.get_ref<const std::string&>();
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] != '{') {
      ASSIGN_OR_RETURN(out, ParseCsvManifest(text, base));
      if (out.empty()) return CodeError(Code("IS.3052"), "(the manifest holds no entry)");
      return out;
    }
  }
  if (m.is_array()) {
    for (size_t i = 0; i < m.size(); ++i) {
      ASSIGN_OR_RETURN(engine::ManifestEntry e, ParseEntry(m[i], base, i + 1));
      out.push_back(std::move(e));
    }
  } else if (m.is_string()) {
    const std::string& text = m.get_ref<const std::string&>();
    size_t at = 0, line = 0;
    while (at <= text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + at, end - at);
      ++line;
      at = end + 1;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      json e = json::parse(l, nullptr, /*allow_exceptions=*/false);
      if (e.is_discarded()) {
        return CodeError(Code("IS.0008"),
                         "(manifest line " + std::to_string(line) + " is not JSON)");
      }
      ASSIGN_OR_RETURN(engine::ManifestEntry entry, ParseEntry(e, base, line));
      out.push_back(std::move(entry));
    }
  } else {
    return CodeError(Code("IS.0002"),
                     "(`manifest` is an array of entries, JSON Lines text or CSV text)");
  }
  if (out.empty()) return CodeError(Code("IS.3052"), "(the manifest holds no entry)");
  return out;
}

absl::StatusOr<json> CreateJob(engine::JobRunner* jobs, const std::string& project,
                               const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> instance, OptionalString(body, "instance_name"));
  if (!instance) return CodeError(Code("IS.0001"), "(`instance_name` is required)");
  if (instance->empty()) return CodeError(Code("IS.0003"), "(`instance_name` is empty)");
  RETURN_IF_ERROR(CheckUrlInstance(*instance));
  ASSIGN_OR_RETURN(std::optional<std::string> mode, OptionalString(body, "mode"));
  engine::JobSpec spec;
  if (!mode || *mode == "import") {
    spec.kind = engine::JobKind::kImport;
  } else if (*mode == "sync") {
    spec.kind = engine::JobKind::kSync;
  } else {
    return CodeError(Code("IS.0002"), "(`mode` is `import` or `sync`)");
  }
  ASSIGN_OR_RETURN(std::optional<std::string> source, OptionalString(body, "source"));
  ASSIGN_OR_RETURN(std::optional<std::string> bucket, OptionalString(body, "bucket"));
  auto manifest = body.find("manifest");
  const bool has_manifest = manifest != body.end() && !manifest->is_null();
  if (source && !source->empty() && has_manifest) {
    return CodeError(Code("IS.0002"), "(give `source` or `manifest`, not both)");
  }
  if (has_manifest) {
    if (spec.kind == engine::JobKind::kSync) {
      return CodeError(Code("IS.0002"), "(a sync job follows a `source` prefix, not a manifest)");
    }
    ASSIGN_OR_RETURN(spec.manifest, ParseManifest(*manifest, bucket.value_or("")));
  } else if (!source) {
    return CodeError(Code("IS.0001"), "(`source` (a bucket prefix) or `manifest` is required)");
  } else if (source->empty()) {
    return CodeError(Code("IS.0003"), "(`source` is empty)");
  } else if (Utf8Length(*source) > kMaxLocator) {
    return CodeError(Code("IS.0016"), "(`source` is longer than 2048 characters)");
  } else {
    spec.prefix = *source;
  }
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags", Code("IS.1003")));
  if (tags) spec.tags = std::move(*tags);
  ASSIGN_OR_RETURN(std::optional<std::string> folder_tag, OptionalString(body, "folder_tag"));
  if (folder_tag && !folder_tag->empty()) {
    if (has_manifest) {
      return CodeError(Code("IS.0002"), "(`folder_tag` applies to a `source` prefix)");
    }
    spec.folder_tag = *folder_tag;
  }
  ASSIGN_OR_RETURN(std::optional<bool> metadata_tags, OptionalBool(body, "metadata_tags"));
  spec.metadata_tags = metadata_tags.value_or(false);
  ASSIGN_OR_RETURN(std::optional<int64_t> interval, OptionalInt(body, "interval_ms"));
  if (interval && (*interval < 1 || *interval > 86400000)) {
    return CodeError(Code("IS.0002"), "(`interval_ms` must be 1..86400000)");
  }
  spec.interval_ms = interval.value_or(kDefaultIntervalMs);
  ASSIGN_OR_RETURN(engine::Job job, jobs->Create(project, *instance, std::move(spec)));
  return JobJson(job);
}

using Control = absl::StatusOr<engine::Job> (engine::JobRunner::*)(const std::string&,
                                                                   const std::string&);

}  // namespace

json JobJson(const engine::Job& j) {
  const engine::JobProgress& p = j.progress;
  json progress = {{"pass", p.pass},
                   {"listed", p.listed},
                   {"done", p.done},
                   {"skipped", p.skipped},
                   {"failed", p.failed},
                   {"removed", p.removed},
                   {"listing_complete", p.listing_complete},
                   {"total", p.total < 0 ? json(nullptr) : json(p.total)},
                   {"images_per_s", p.images_per_s},
                   {"eta_s", p.eta_ms < 0 ? json(nullptr) : json(double(p.eta_ms) / 1000.0)},
                   {"pass_started_ms", p.pass_started_ms},
                   {"last_pass_ms", p.last_pass_ms == 0 ? json(nullptr) : json(p.last_pass_ms)}};
  if (j.kind == engine::JobKind::kSync) {
    progress["lag_s"] = p.lag_ms < 0 ? json(nullptr) : json(double(p.lag_ms) / 1000.0);
  }
  json out = {{"id", j.id},
              {"instance_name", j.gallery},
              {"mode", std::string(engine::JobKindName(j.kind))},
              {"state", std::string(engine::JobStateName(j.state))},
              {"created_ms", j.created_ms},
              {"updated_ms", j.updated_ms},
              {"progress", std::move(progress)}};
  if (!j.prefix.empty()) out["source"] = j.prefix;
  if (!j.folder_tag.empty()) out["folder_tag"] = j.folder_tag;
  out["metadata_tags"] = j.metadata_tags;
  if (j.manifest_entries > 0) out["manifest_entries"] = j.manifest_entries;
  if (j.kind == engine::JobKind::kSync) {
    out["interval_ms"] = j.interval_ms;
    // Where the object store pushes bucket notifications (relative to this server).
    if (!j.notify_token.empty()) {
      out["events_path"] = "/v1/" + j.project + "/image-search/import-jobs/" + j.id +
                           "/events?token=" + j.notify_token;
    }
  }
  if (!p.error.empty()) out["error"] = p.error;
  return out;
}

void RegisterJobRoutes(Router* router, engine::JobRunner* jobs) {
  using R = const RouteParams&;
  using J = const json&;
  using S = const std::string&;
  const std::string base = kJobs;
  const std::string one = base + "/{job_id}";
  router->Add(V1Route(
      "POST", base, false, [jobs](S p, R, J b) { return CreateJob(jobs, p, b); }, kCreateRoute));
  router->Add(V1Route("GET", base, true, [jobs](S p, R, J) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(std::vector<engine::Job> all, jobs->List(p));
    json list = json::array();
    for (const engine::Job& j : all) list.push_back(JobJson(j));
    return json{{"count", all.size()}, {"jobs", std::move(list)}};
  }));
  router->Add(V1Route("GET", one, true, [jobs](S p, R r, J) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(engine::Job j, jobs->Get(p, r.at("job_id")));
    return JobJson(j);
  }));
  router->Add(V1Route("DELETE", one, true, [jobs](S p, R r, J) -> absl::StatusOr<json> {
    RETURN_IF_ERROR(jobs->Delete(p, r.at("job_id")));
    return json{{"result", "success"}};
  }));
  const std::pair<const char*, Control> controls[] = {{"pause", &engine::JobRunner::Pause},
                                                      {"resume", &engine::JobRunner::Resume},
                                                      {"cancel", &engine::JobRunner::Cancel},
                                                      {"rerun", &engine::JobRunner::Rerun}};
  for (const auto& [name, fn] : controls) {
    router->Add(V1Route("POST", one + "/" + name, true,
                        [jobs, fn = fn](S p, R r, J) -> absl::StatusOr<json> {
                          ASSIGN_OR_RETURN(engine::Job j, (jobs->*fn)(p, r.at("job_id")));
                          return JobJson(j);
                        }));
  }
  // Bucket notifications (HTTP push from the object store, which cannot sign requests):
  // authenticated by the job's secret token in the URL, not by the project's credentials.
  Route events;
  events.method = "POST";
  events.pattern = one + "/events";
  events.auth = AuthPolicy::kPublic;
  events.errors = [](const absl::Status& s) { return RenderError(s); };
  events.handler = [jobs](const Call& call) {
    std::string token;
    for (std::string_view q = call.request.query; !q.empty();) {
      const size_t amp = q.find('&');
      const std::string_view kv = q.substr(0, amp);
      if (kv.rfind("token=", 0) == 0) token = std::string(kv.substr(6));
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    }
    absl::Status s = jobs->Notify(call.params.at("project_id"), call.params.at("job_id"), token);
    if (!s.ok()) return RenderError(s);
    HttpResponse r;
    r.body = R"({"result":"success"})";
    return r;
  };
  router->Add(std::move(events));
  router->Add(V1Route("GET", one + "/failures", true, [jobs](S p, R r, J) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(std::vector<engine::JobFailure> all,
                     jobs->Failures(p, r.at("job_id"), kMaxFailures));
    json list = json::array();
    for (const engine::JobFailure& f : all) {
      const WireCode& code = CodeFor(f.reason);
      list.push_back(json{{"path", f.key},
                          {"url", f.locator},
                          {"error_code", std::string(code.code)},
                          {"error_msg", std::string(code.message) + " " + f.message}});
    }
    return json{{"count", all.size()}, {"failures", std::move(list)}};
  }));
}

}  // namespace iss::api::v1
