// imagesearch: the command-line client of an imagesearch server (or of the cloud's Image
// Search v1 API it is compatible with), over HTTP only.
//
//   imagesearch configure --endpoint http://127.0.0.1:8080 --project P --ak AK < sk.txt
//   imagesearch instance create shoes --tags color,size
//   imagesearch add shoes photos/            # every image under the folder, with progress
//   imagesearch search shoes query.jpg --limit 5        # a table; --json for the answer
//   imagesearch check shoes red-1.jpg && echo there
//   imagesearch import shoes s3://photos/shoes/          # a server-side job, with progress
//
// Exit codes (for scripts): 0 done; 1 the server refused (its IS.xxxx code is printed);
// 2 usage or configuration error; 3 the server could not be reached; 4 `check`: not there;
// 5 `add` of several files: some failed (each is printed). `imagesearch admin` (admin.h):
// the operator API.
// Thread contract: main thread only.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "admin.h"
#include "client.h"
#include "common/status.h"
#include "config.h"

namespace iss::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

enum Exit { kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3, kAbsent = 4, kSomeFailed = 5 };

// "Base64" of a file's bytes (the v1 `file` field).
std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v =
        uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool IsLocator(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("s3://", 0) == 0;
}

bool LooksLikeImage(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  static const char* kExts[] = {".jpg",  ".jpeg", ".png",  ".bmp",  ".webp", ".tif",
                                ".tiff", ".gif",  ".heic", ".heif", ".avif"};
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

// k=v pairs -> {"k": "v"}.
bool ParseTags(const std::vector<std::string>& pairs, json* out) {
  *out = json::object();
  for (const std::string& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "imagesearch: a tag is name=value, not '" << p << "'\n";
      return false;
    }
    (*out)[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return true;
}

class Cli {
 public:
  Cli(Client client, std::string project, bool json_out)
      : client_(std::move(client)), project_(std::move(project)), json_(json_out) {}

  // One v1 call; prints the refusal. Sets *answer to the parsed body on 2xx.
  int V1(const std::string& method, const std::string& rest, const json& body, json* answer,
         bool quiet = false) {
    const std::string path = "/v1/" + project_ + rest;
    auto r = client_.Call(method, path, body.is_null() ? std::string() : body.dump());
    if (!r.ok()) {
      std::cerr << "imagesearch: cannot reach the server: " << r.status().message() << "\n";
      return kUnreachable;
    }
    json parsed = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (r->status >= 200 && r->status < 300) {
      if (answer) *answer = parsed;
      return kOk;
    }
    if (!quiet) PrintRefusal(*r, parsed);
    last_error_ = parsed.is_object() ? parsed.value("error_code", std::string()) : "";
    return kRefused;
  }

  void PrintRefusal(const Response& r, const json& parsed) const {
    std::string code = "HTTP " + std::to_string(r.status), msg = r.body;
    if (parsed.is_object() && parsed.contains("error_code")) {
      code = parsed.value("error_code", code);
      msg = parsed.value("error_msg", std::string());
    }
    std::cerr << "imagesearch: " << code << " " << msg;
    if (!r.request_id.empty()) std::cerr << " (request " << r.request_id << ")";
    std::cerr << "\n";
  }

  int Print(int rc, const json& answer) const {
    if (rc == kOk && !answer.is_null()) std::cout << answer.dump(json_ ? -1 : 2) << "\n";
    return rc;
  }

  int CreateInstance(const std::string& name, const std::string& model, const std::string& desc,
                     const std::vector<std::string>& tags) {
    json body{{"name", name}, {"model", model}};
    if (!desc.empty()) body["description"] = desc;
    if (!tags.empty()) body["tags"] = tags;
    json answer;
    return Print(V1("POST", "/service", body, &answer), answer);
  }
  int GetInstance(const std::string& name) {
    json answer;
    return Print(V1("GET", "/service/" + name, nullptr, &answer), answer);
  }
  int DeleteInstance(const std::string& name) {
    json answer;
    return Print(V1("DELETE", "/service/" + name, nullptr, &answer), answer);
  }

  // One image: a local file (path = `path` or the name as given) or a locator (path = it).
  int AddOne(const std::string& instance, const std::string& source, const std::string& path,
             const json& tags, bool quiet) {
    json body{{"path", path.empty() ? source : path}};
    if (!IsLocator(source)) {
      std::string bytes;
      if (!ReadFile(source, &bytes)) {
        std::cerr << "imagesearch: cannot read " << source << "\n";
        return kUsage;
      }
      body["file"] = Base64(bytes);
    }
    if (!tags.empty()) body["tags"] = tags;
    return V1("POST", "/" + instance + "/image", body, nullptr, quiet);
  }

  // Files and folders (every image under a folder, path = its path relative to the folder),
  // with a progress line on stderr when it is a terminal; --skip-existing resumes a run.
  int Add(const std::string& instance, const std::vector<std::string>& sources,
          const std::string& path, const json& tags, bool skip_existing) {
    std::vector<std::pair<std::string, std::string>> todo;  // (source, path)
    for (const std::string& s : sources) {
      if (!IsLocator(s) && fs::is_directory(s)) {
        std::vector<std::pair<std::string, std::string>> found;
        for (const auto& e : fs::recursive_directory_iterator(s)) {
          if (e.is_regular_file() && LooksLikeImage(e.path())) {
            found.emplace_back(e.path().string(), fs::relative(e.path(), s).string());
          }
        }
        std::sort(found.begin(), found.end());
        todo.insert(todo.end(), found.begin(), found.end());
      } else {
        todo.emplace_back(s, path.empty() ? s : path);
      }
    }
    if (todo.size() == 1 && sources.size() == 1 && !fs::is_directory(sources[0])) {
      const int rc = AddOne(instance, todo[0].first, todo[0].second, tags, false);
      if (rc == kOk && !json_) std::cout << "added " << todo[0].second << "\n";
      return rc;
    }
    const bool tty = isatty(STDERR_FILENO);
    size_t done = 0, skipped = 0, failed = 0;
    for (size_t i = 0; i < todo.size(); ++i) {
      const auto& [source, p] = todo[i];
      json exists;
      if (skip_existing &&
          V1("POST", "/" + instance + "/image/check", json{{"path", p}}, &exists, true) == kOk &&
          exists.value("exist", "") == "true") {
        ++skipped;
      } else {
        const int rc = AddOne(instance, source, p, tags, true);
        if (rc == kUnreachable) return rc;
        if (rc == kOk) {
          ++done;
        } else {
          ++failed;
          std::cerr << (tty ? "\r\033[K" : "") << "imagesearch: " << p << ": "
                    << (last_error_.empty() ? "refused" : last_error_) << "\n";
        }
      }
      if (tty) {
        std::fprintf(stderr, "\r[%zu/%zu] added %zu, skipped %zu, failed %zu", i + 1, todo.size(),
                     done, skipped, failed);
      }
    }
    if (tty) std::fprintf(stderr, "\n");
    const json summary{
        {"total", todo.size()}, {"added", done}, {"skipped", skipped}, {"failed", failed}};
    std::cout << (json_ ? summary.dump()
                        : "added " + std::to_string(done) + ", skipped " + std::to_string(skipped) +
                              ", failed " + std::to_string(failed) + " of " +
                              std::to_string(todo.size()))
              << "\n";
    return failed ? kSomeFailed : kOk;
  }

  int Search(const std::string& instance, const std::string& query, const json& tags, int limit,
             int offset, const std::vector<int>& box) {
    json body{{"limit", limit}, {"offset", offset}};
    if (!query.empty()) {
      if (IsLocator(query)) {
        body["path"] = query;
      } else {
        std::string bytes;
        if (!ReadFile(query, &bytes)) {
          std::cerr << "imagesearch: cannot read " << query << "\n";
          return kUsage;
        }
        body["file"] = Base64(bytes);
      }
    }
    if (!tags.empty()) body["tags"] = tags;
    if (box.size() == 4)
      body["box"] = {{"x", box[0]}, {"y", box[1]}, {"width", box[2]}, {"height", box[3]}};
    json answer;
    const int rc = V1("POST", "/" + instance + "/image/search", body, &answer);
    if (rc != kOk) return rc;
    if (json_) {
      std::cout << answer.dump() << "\n";
      return kOk;
    }
    std::printf("%-4s  %-8s  %s\n", "#", "sim", "path  tags");
    int rank = offset;
    const json results =
        answer.contains("result") && answer["result"].is_array() ? answer["result"] : json::array();
    for (const json& hit : results) {
      std::string tag_text;
      if (hit.contains("tags") && hit["tags"].is_object()) {
        for (auto it = hit["tags"].begin(); it != hit["tags"].end(); ++it) {
          tag_text += (tag_text.empty() ? "" : " ") + it.key() + "=" +
                      (it->is_string() ? it->get<std::string>() : it->dump());
        }
      }
      char sim[32] = "-";
      if (hit.contains("sim") && hit["sim"].is_number()) {
        std::snprintf(sim, sizeof sim, "%.4f", hit["sim"].get<double>());
      }
      std::printf("%-4d  %-8s  %s  %s\n", ++rank, sim, hit.value("path", std::string()).c_str(),
                  tag_text.c_str());
    }
    std::printf("(%zu of %d)\n", results.size(), answer.value("count", 0));
    return kOk;
  }

  int Check(const std::string& instance, const std::string& path) {
    json answer;
    const int rc = V1("POST", "/" + instance + "/image/check", json{{"path", path}}, &answer);
    if (rc != kOk) return rc;
    const bool there = answer.value("exist", "") == "true";
    std::cout << (json_ ? answer.dump() : (there ? "true" : "false")) << "\n";
    return there ? kOk : kAbsent;
  }

  int SetTags(const std::string& instance, const std::string& path, const json& tags) {
    json answer;
    return Print(
        V1("PUT", "/" + instance + "/image", json{{"path", path}, {"tags", tags}}, &answer),
        answer);
  }

  int Delete(const std::string& instance, const std::string& path) {
    json answer;
    return Print(V1("DELETE", "/" + instance + "/image", json{{"path", path}}, &answer), answer);
  }

  // --- import jobs (the server's own API beside v1: docs/api.md, "Import jobs") ---

  // Starts a job (a bucket prefix, an object-store URL, a server-side folder or a manifest)
  // and follows it unless `wait` is false.
  struct ImportRequest {
    std::string source, manifest_file, folder_tag;
    bool sync = false, metadata_tags = false, wait = true;
    int interval_ms = 0;
    json tags = json::object();
  };
  int Import(const std::string& instance, const ImportRequest& r) {
    const std::string& source = r.source;
    const std::string& manifest_file = r.manifest_file;
    json body{{"instance_name", instance}};
    if (!manifest_file.empty()) {
      std::string text;
      if (!ReadFile(manifest_file, &text)) {
        std::cerr << "imagesearch: cannot read " << manifest_file << "\n";
        return kUsage;
      }
      body["manifest"] = text;
      if (!source.empty()) body["bucket"] = source;
    } else if (!IsLocator(source) && source.rfind("file://", 0) != 0 && fs::is_directory(source)) {
      body["source"] = "file://" + fs::absolute(source).lexically_normal().string() + "/";
    } else {
      body["source"] = source;
    }
    if (r.sync) body["mode"] = "sync";
    if (r.interval_ms > 0) body["interval_ms"] = r.interval_ms;
    if (!r.tags.empty()) body["tags"] = r.tags;
    if (!r.folder_tag.empty()) body["folder_tag"] = r.folder_tag;
    if (r.metadata_tags) body["metadata_tags"] = true;
    json job;
    if (int rc = V1("POST", kJobs, body, &job); rc != kOk) return rc;
    const std::string id = job.value("id", std::string());
    std::cerr << "imagesearch: job " << id << " started\n";
    if (!r.wait || r.sync) return Print(kOk, job);
    return Follow(id);
  }

  // Polls the job once a second, a progress line on stderr, until it ends. Exit: 0 done
  // with no failure, 5 done with failures (the report is printed), 1 failed or cancelled.
  int Follow(const std::string& id) {
    const bool tty = isatty(STDERR_FILENO);
    json job;
    for (;;) {
      if (int rc = V1("GET", std::string(kJobs) + "/" + id, nullptr, &job); rc != kOk) return rc;
      const json p = job.value("progress", json::object());
      const std::string state = job.value("state", std::string());
      char line[256];
      const std::string of = p.contains("total") && p["total"].is_number_integer()
                                 ? " of " + std::to_string(p["total"].get<long long>())
                                 : "";
      std::snprintf(line, sizeof line,
                    "[%s] listed %lld%s%s, done %lld, skipped %lld, failed %lld, %.1f img/s",
                    state.c_str(), p.value("listed", 0LL),
                    p.value("listing_complete", false) ? "" : "+", of.c_str(), p.value("done", 0LL),
                    p.value("skipped", 0LL), p.value("failed", 0LL), p.value("images_per_s", 0.0));
      std::string text = line;
      if (p.contains("eta_s") && p["eta_s"].is_number()) {
        text += ", ETA " + std::to_string(int(p["eta_s"].get<double>())) + " s";
      }
      std::cerr << (tty ? "\r\033[K" : "") << text << (tty ? "" : "\n") << std::flush;
      if (state != "running") break;
      ::sleep(1);
    }
    if (tty) std::cerr << "\n";
    const std::string state = job.value("state", std::string());
    const long long failed = job.value("progress", json::object()).value("failed", 0LL);
    if (failed > 0) Failures(job.value("id", std::string()), 20);
    Print(kOk, job);
    if (state == "done") return failed > 0 ? kSomeFailed : kOk;
    if (state == "paused") return kOk;  // paused by someone: `imagesearch jobs resume ID`
    return kRefused;
  }

  // The failure report: key, code, reason (at most `limit` lines on stderr; all with --json).
  int Failures(const std::string& id, int limit) {
    json report;
    if (int rc = V1("GET", std::string(kJobs) + "/" + id + "/failures", nullptr, &report);
        rc != kOk) {
      return rc;
    }
    if (json_) return Print(kOk, report);
    int n = 0;
    for (const json& f : report.value("failures", json::array())) {
      if (limit > 0 && n++ >= limit) {
        std::cerr << "  ... (" << report.value("count", 0) << " in all: imagesearch jobs failures "
                  << id << ")\n";
        break;
      }
      std::cerr << "  " << f.value("path", std::string()) << "  "
                << f.value("error_code", std::string()) << "  "
                << f.value("error_msg", std::string()) << "\n";
    }
    return kOk;
  }

  // list | get | pause | resume | cancel | rerun | delete | failures | watch
  int Jobs(const std::string& action, const std::string& id) {
    json answer;
    if (action == "list") return Print(V1("GET", kJobs, nullptr, &answer), answer);
    if (id.empty()) {
      std::cerr << "imagesearch jobs " << action << ": a job id is needed\n";
      return kUsage;
    }
    const std::string base = std::string(kJobs) + "/" + id;
    if (action == "get") return Print(V1("GET", base, nullptr, &answer), answer);
    if (action == "failures") return Failures(id, 0);
    if (action == "watch") return Follow(id);
    if (action == "delete") return Print(V1("DELETE", base, nullptr, &answer), answer);
    if (action == "pause" || action == "cancel") {
      return Print(V1("POST", base + "/" + action, json::object(), &answer), answer);
    }
    if (action == "resume" || action == "rerun") {  // and follow it, as `import` does
      if (int rc = V1("POST", base + "/" + action, json::object(), &answer); rc != kOk) return rc;
      return answer.value("mode", "import") == "sync" ? Print(kOk, answer) : Follow(id);
    }
    std::cerr << "imagesearch jobs: unknown action " << action << "\n";
    return kUsage;
  }

 private:
  static constexpr const char* kJobs = "/image-search/import-jobs";

  Client client_;
  std::string project_;
  bool json_;
  std::string last_error_;
};

int Run(int argc, char** argv) {
  CLI::App app{"imagesearch: command-line client of an imagesearch server (Image Search API v1)",
               "imagesearch"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand (inherited by each)
  std::string profile_name = "default", endpoint, project, ak, sk_file, token_file;
  bool json_out = false, insecure = false;
  app.add_option("--profile", profile_name, "Profile in the config file (default: default)");
  app.add_option("--endpoint", endpoint, "Server URL, e.g. http://127.0.0.1:8080");
  app.add_option("--project", project, "Project id");
  app.add_option("--ak", ak, "Access key (its secret: --sk-file, IMAGESEARCH_SK or the profile)");
  app.add_option("--sk-file", sk_file, "File holding the secret key");
  app.add_option("--token-file", token_file, "File holding an X-Auth-Token (instead of AK/SK)");
  app.add_flag("--json", json_out, "Print the server's JSON answers");
  app.add_flag("--insecure", insecure, "Do not check the server's TLS certificate");
  app.set_version_flag("--version", std::string("imagesearch ") + ISS_VERSION);

  auto* configure = app.add_subcommand(
      "configure", "Write a profile: the secret key is read from stdin (one line)");
  auto* instance = app.add_subcommand("instance", "Create, inspect or delete an instance");
  instance->require_subcommand(1);
  std::string inst_name, model = "common-search", description, tag_names;
  auto* inst_create = instance->add_subcommand("create", "Create an instance");
  inst_create->add_option("name", inst_name, "Instance name")->required();
  inst_create->add_option("--model", model, "Model (default: common-search)");
  inst_create->add_option("--description", description, "Description");
  inst_create->add_option("--tags", tag_names, "Tag names, comma-separated");
  auto* inst_get = instance->add_subcommand("get", "Show an instance");
  inst_get->add_option("name", inst_name, "Instance name")->required();
  auto* inst_delete = instance->add_subcommand("delete", "Delete an instance and its images");
  inst_delete->add_option("name", inst_name, "Instance name")->required();

  std::string inst, path, query;
  std::vector<std::string> sources, tag_pairs;
  std::vector<int> box;
  int limit = 10, offset = 0;
  bool skip_existing = false;
  auto* add = app.add_subcommand("add", "Add images: files, folders (recursive) or URLs");
  add->add_option("instance", inst, "Instance")->required();
  add->add_option("sources", sources, "Image files, folders or URLs")->required();
  add->add_option("--path", path, "The image's path (its id) when adding one file");
  add->add_option("--tag", tag_pairs, "name=value (repeatable)");
  add->add_flag("--skip-existing", skip_existing, "Skip paths already in the instance (resume)");
  auto* search = app.add_subcommand("search", "Search by an image (file or URL) and/or tags");
  search->add_option("instance", inst, "Instance")->required();
  search->add_option("query", query, "Query image file or URL");
  search->add_option("--tag", tag_pairs, "name=value filter (repeatable)");
  search->add_option("--limit", limit, "Results per page (default 10)");
  search->add_option("--offset", offset, "Results to skip (default 0)");
  search->add_option("--box", box, "Crop of the query: x y width height")->expected(4);
  auto* check = app.add_subcommand("check", "Is a path in the instance? (exit 0 yes, 4 no)");
  check->add_option("instance", inst, "Instance")->required();
  check->add_option("path", path, "Path")->required();
  auto* tags = app.add_subcommand("tags", "Replace an image's tags");
  tags->add_option("instance", inst, "Instance")->required();
  tags->add_option("path", path, "Path")->required();
  tags->add_option("tags", tag_pairs, "name=value ...")->required();
  auto* del = app.add_subcommand("delete", "Delete an image");
  del->add_option("instance", inst, "Instance")->required();
  del->add_option("path", path, "Path")->required();
  Cli::ImportRequest imp;
  std::string action, job_id;
  bool no_wait = false;
  auto* import = app.add_subcommand(
      "import",
      "Import a bucket prefix, object-store URL, server-side folder or manifest as a "
      "server-side job, with progress (exit 0 done, 5 some images failed)");
  import->add_option("instance", inst, "Instance")->required();
  import->add_option("source", imp.source,
                     "s3://bucket/prefix/, an object-store URL, a folder on the server's "
                     "machine (jobs.import_dirs), or with --manifest the bucket for its keys");
  import->add_option("--manifest", imp.manifest_file,
                     "JSON Lines ({\"url\"|\"key\", \"path\", \"tags\"}) or CSV (header: url|key, "
                     "path, tag columns) file");
  import->add_flag("--sync", imp.sync, "Keep the instance in step with the prefix (a sync job)");
  import->add_option("--interval-ms", imp.interval_ms, "Sync: time between listing passes");
  import->add_option("--tag", tag_pairs, "name=value given to every image (repeatable)");
  import->add_option("--folder-tag", imp.folder_tag,
                     "Tag name that gets each object's folder name");
  import->add_flag("--metadata-tags", imp.metadata_tags,
                   "Object metadata (x-amz-meta-<tag>) named like an instance tag becomes it");
  import->add_flag("--no-wait", no_wait, "Print the job and return at once");
  auto* jobs = app.add_subcommand("jobs",
                                  "Import jobs: list, get, watch, pause, resume, cancel, "
                                  "rerun, failures, delete");
  jobs->add_option("action", action,
                   "list | get | watch | pause | resume | cancel | rerun | "
                   "failures | delete")
      ->required();
  jobs->add_option("job_id", job_id, "The job's id");
  AdminArgs admin;
  AddAdminCommand(&app, &admin);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kOk;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return kOk;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  const bool named = app.get_option("--profile")->count() > 0;
  auto profile = LoadProfile(profile_name, named && !configure->parsed());
  if (!profile.ok()) {
    std::cerr << "imagesearch: " << profile.status().message() << "\n";
    return kUsage;
  }
  if (!endpoint.empty()) profile->endpoint = endpoint;
  if (!project.empty()) profile->project_id = project;
  if (!ak.empty()) profile->access_key = ak;
  if (insecure) profile->insecure = true;
  for (auto [file, field] :
       {std::pair{&sk_file, &profile->secret_key}, std::pair{&token_file, &profile->token}}) {
    if (file->empty()) continue;
    auto secret = ReadSecretFile(*file);
    if (!secret.ok()) {
      std::cerr << "imagesearch: " << secret.status().message() << "\n";
      return kUsage;
    }
    *field = *secret;
  }

  if (configure->parsed()) {
    if (profile->project_id.empty() || profile->access_key.empty()) {
      std::cerr << "imagesearch configure: --project and --ak are needed (and the secret key "
                   "on stdin)\n";
      return kUsage;
    }
    std::string line;
    if (isatty(STDIN_FILENO)) std::cerr << "secret key: ";
    std::getline(std::cin, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) profile->secret_key = line;
    if (profile->secret_key.empty()) {
      std::cerr << "imagesearch configure: no secret key on stdin\n";
      return kUsage;
    }
    if (absl::Status s = SaveProfile(profile_name, *profile); !s.ok()) {
      std::cerr << "imagesearch: " << s.message() << "\n";
      return kUsage;
    }
    std::cout << "profile '" << profile_name << "' written to " << ConfigPath() << "\n";
    return kOk;
  }
  const Credentials credentials{.endpoint = profile->endpoint,
                                .ak = profile->access_key,
                                .sk = profile->secret_key,
                                .token = profile->token,
                                .insecure = profile->insecure};
  // The operator API needs no project.
  if (admin.command->parsed()) return RunAdmin(Client(credentials), admin, json_out);
  if (profile->project_id.empty()) {
    std::cerr << "imagesearch: no project id (--project, IMAGESEARCH_PROJECT_ID or a profile: "
                 "imagesearch configure)\n";
    return kUsage;
  }
  json tag_json;
  if (!ParseTags(tag_pairs, &tag_json)) return kUsage;
  Cli cli(Client(credentials), profile->project_id, json_out);
  if (inst_create->parsed()) {
    std::vector<std::string> names;
    std::stringstream ss(tag_names);
    for (std::string t; std::getline(ss, t, ',');) {
      if (!t.empty()) names.push_back(t);
    }
    return cli.CreateInstance(inst_name, model, description, names);
  }
  if (inst_get->parsed()) return cli.GetInstance(inst_name);
  if (inst_delete->parsed()) return cli.DeleteInstance(inst_name);
  if (add->parsed()) return cli.Add(inst, sources, path, tag_json, skip_existing);
  if (search->parsed()) return cli.Search(inst, query, tag_json, limit, offset, box);
  if (check->parsed()) return cli.Check(inst, path);
  if (tags->parsed()) return cli.SetTags(inst, path, tag_json);
  if (del->parsed()) return cli.Delete(inst, path);
  if (import->parsed()) {
    if (imp.source.empty() && imp.manifest_file.empty()) {
      std::cerr << "imagesearch import: a source or --manifest is needed\n";
      return kUsage;
    }
    imp.tags = tag_json;
    imp.wait = !no_wait;
    return cli.Import(inst, imp);
  }
  if (jobs->parsed()) return cli.Jobs(action, job_id);
  return kUsage;
}

}  // namespace
}  // namespace iss::cli

int main(int argc, char** argv) { return iss::cli::Run(argc, argv); }
