#include "server/options.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace iss::server {
namespace {

// HOST:PORT written into the HTTP server's options.
struct Listen {
  std::string* host;
  uint16_t* port;
};

using Target = std::variant<std::string*, int*, int64_t*, bool*, std::vector<std::string>*, double*,
                            size_t*, Listen>;

// "HOST:PORT" ("[v6]:PORT" too) -> host, port; false when malformed or out of range.
bool ParseListen(const std::string& v, std::string* host, int* port) {
  const size_t colon = v.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = v.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || !absl::SimpleAtoi(v.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return false;
  }
  *host = h;
  return true;
}

struct Setting {
  std::string key;   // TOML "section.name" / flag "--name" is the part after the section
  std::string flag;  // "--fetch-allowed-hosts"
  std::string help;
  Target target;
};

std::string EnvName(const std::string& flag) {
  std::string e = "ISS_";
  for (char c : flag.substr(2)) e.push_back(c == '-' ? '_' : char(std::toupper(c)));
  return e;
}

std::vector<Setting> Settings(ServerOptions* o) {
  return {
      {"server.data_dir", "--data-dir", "Data directory (RocksDB in DIR/db).", &o->data_dir},
      {"server.listen", "--listen", "HOST:PORT to listen on; port 0 picks a free port.",
       Listen{&o->http.host, &o->http.port}},
      {"server.port_file", "--port-file", "Write the bound port to this file.", &o->port_file},
      {"server.model_dir", "--model-dir", "Directory of model <name>.toml + ONNX files.",
       &o->model_dir},
      {"server.log_level", "--log-level", "trace|debug|info|warn|error|off.", &o->log_level},
      {"server.background_threads", "--background-threads",
       "Threads for background index work (training, merges, snapshots), shared by every "
       "instance.",
       &o->background.threads},
      {"server.compute_threads", "--compute-threads",
       "Threads inside OpenMP/BLAS (index training, exact scans).", &o->compute_threads},
      {"http.io_threads", "--io-threads", "Socket/parsing threads.", &o->http.io_threads},
      {"http.worker_threads", "--worker-threads", "Threads running handlers (inference).",
       &o->http.worker_threads},
      {"http.inference_threads", "--inference-threads", "Threads inside one forward pass.",
       &o->models.threads},
      {"http.inference_instances", "--inference-instances",
       "Forward passes at once per model (one network each).", &o->models.instances},
      {"http.max_body_bytes", "--max-body-bytes", "Largest request body (APIG.0201 above).",
       &o->http.max_body_bytes},
      {"http.header_timeout_ms", "--header-timeout-ms", "Time to receive the headers.",
       &o->http.header_timeout_ms},
      {"http.body_timeout_ms", "--body-timeout-ms", "Time to receive the body.",
       &o->http.body_timeout_ms},
      {"http.idle_timeout_ms", "--idle-timeout-ms", "Idle keep-alive connection lifetime.",
       &o->http.idle_timeout_ms},
      {"http.max_connections", "--max-connections",
       "Open connections at most (lowered at start-up to fit the file-descriptor limit).",
       &o->http.max_connections},
      {"http.max_connections_per_address", "--max-connections-per-address",
       "Open connections from one peer address at most (0: no limit).",
       &o->http.max_connections_per_address},
      {"http.drain_timeout_ms", "--drain-timeout-ms",
       "On SIGTERM/SIGINT, wait this long for running requests.", &o->http.drain_timeout_ms},
      {"fetch.allowed_hosts", "--fetch-allowed-hosts",
       "Hosts `path` downloads may use: host, host:port, *.domain, or * (comma-separated).",
       &o->fetch.allowed_hosts},
      {"fetch.allow_private", "--fetch-allow-private",
       "Allow loopback/private/link-local addresses (for allowed hosts only).",
       &o->fetch.allow_private},
      {"fetch.max_bytes", "--fetch-max-bytes", "Largest download.", &o->fetch.max_bytes},
      {"fetch.timeout_ms", "--fetch-timeout-ms", "Time limit of one download.",
       &o->fetch.timeout_ms},
      {"fetch.max_redirects", "--fetch-max-redirects", "Redirects followed, each re-checked.",
       &o->fetch.max_redirects},
      {"fetch.max_concurrent", "--fetch-max-concurrent",
       "Downloads at once; more fail at once with IS.2000 (0: worker_threads - 1, at least 1).",
       &o->fetch.max_concurrent},
      {"storage.max_bytes", "--storage-max-bytes", "Largest object read from object storage.",
       &o->storage.max_bytes},
      {"storage.timeout_ms", "--storage-timeout-ms", "Time limit of one object-storage read.",
       &o->storage.timeout_ms},
      {"models.downscale_large_images", "--downscale-large-images",
       "Accept images over 2048 px a side (up to 16384 px, 50 MP) and shrink them to 2048 "
       "(false: IS.2106, as the reference).",
       &o->models.downscale_large_images},
      {"auth.enabled", "--auth-enabled",
       "Authenticate /v1 requests (false: open to anyone, logged as a warning).", &o->auth_enabled},
      {"auth.token_ttl_s", "--auth-token-ttl-s", "Lifetime of issued tokens, seconds.",
       &o->auth.token_ttl_s},
      {"auth.credential_rate", "--auth-credential-rate",
       "Rate limit per token/AK, requests/s (APIG.0308 above).", &o->credential_limit.rate},
      {"auth.credential_burst", "--auth-credential-burst", "Burst allowed per token/AK.",
       &o->credential_limit.burst},
      {"auth.address_rate", "--auth-address-rate",
       "Rate limit per source address, requests/s (APIG.0308 above).", &o->address_limit.rate},
      {"auth.address_burst", "--auth-address-burst", "Burst allowed per source address.",
       &o->address_limit.burst},
      {"auth.login_rate", "--auth-login-rate",
       "Token requests/s per user name and per source address (APIG.0308 above).",
       &o->iam.login_limit.rate},
      {"auth.login_burst", "--auth-login-burst", "Burst of token requests allowed.",
       &o->iam.login_limit.burst},
      {"iam.public_url", "--public-url",
       "This server's URL in the token catalog (default: the request's scheme and Host).",
       &o->iam.public_url},
      {"iam.region", "--region", "The region named in the token catalog.", &o->iam.region},
      {"console.enabled", "--console-enabled",
       "Serve the web console at /console/ (false: no console routes).", &o->console.enabled},
      {"tls.listen", "--tls-listen", "HOST:PORT of the HTTPS listener (with a certificate).",
       Listen{&o->tls_host, &o->tls_port}},
      {"tls.cert_file", "--tls-cert-file",
       "PEM certificate chain: serve HTTPS (TLS 1.2+); re-read on SIGHUP.", &o->http.tls.cert_file},
      {"tls.key_file", "--tls-key-file", "PEM private key of the certificate.",
       &o->http.tls.key_file},
      {"tls.port_file", "--tls-port-file", "Write the HTTPS listener's bound port to this file.",
       &o->tls_port_file},
      {"http.trusted_proxies", "--trusted-proxies",
       "Proxies (addresses or CIDRs) whose X-Forwarded-For names the client (comma-separated).",
       &o->http.trusted_proxies},
      {"limits.max_instances_per_project", "--max-instances-per-project", "Instances per project.",
       &o->engine.max_galleries_per_project},
      {"limits.max_images_per_instance", "--max-images-per-instance", "Images per instance.",
       &o->engine.max_items_per_gallery},
      {"jobs.fetch_threads", "--jobs-fetch-threads", "Downloads at once per import or sync job.",
       &o->jobs.fetch_threads},
      {"jobs.embed_threads", "--jobs-embed-threads",
       "Threads embedding and writing images per import or sync job.", &o->jobs.embed_threads},
      {"jobs.import_dirs", "--jobs-import-dirs",
       "Server-side directories import jobs may read (file:// sources; comma-separated "
       "absolute paths; default none: off).",
       &o->files.roots},
      {"backup.dirs", "--backup-dirs",
       "Directories online backups (POST /admin/v1/backups) may be written under "
       "(comma-separated absolute paths; default none: off).",
       &o->backup.dirs},
      {"http.cors_origins", "--cors-origins",
       "Web origins (scheme://host[:port], or *) a browser may call the API from "
       "(comma-separated; default none: CORS off).",
       &o->cors_origins},
      {"jobs.batch", "--jobs-batch", "Images per durable write of an import job.", &o->jobs.batch},
      {"limits.sync_writes", "--sync-writes", "fsync every write before acknowledging it.",
       &o->store.sync_writes},
      {"store.wal_recovery", "--wal-recovery",
       "strict: a damaged write-ahead-log record refuses the start (default); "
       "tolerate-torn-tail: accept a torn last record (one start after a power loss).",
       &o->wal_recovery},
      {"index.exact_max", "--index-exact-max",
       "Instances up to this many vectors are searched exactly (no ANN).", &o->index.exact_max},
      {"index.merge_rows", "--index-merge-rows",
       "Side-buffer rows that trigger a background merge into the ANN tier.", &o->index.merge_rows},
      {"index.nprobe", "--index-nprobe",
       "Inverted lists probed per query, per 2,048 lists of an instance.", &o->index.nprobe},
      {"index.rerank", "--index-rerank",
       "Candidates re-ranked exactly, as a multiple of the requested page size.", &o->index.rerank},
      {"index.vector_bits", "--index-vector-bits",
       "Bits a value in each instance's vector file: 16, or 8 for half the page cache at some "
       "recall (docs/scaling.md); changing it rebuilds each index from the catalog at start-up.",
       &o->index.vector_bits},
      {"index.preload", "--index-preload",
       "Read each instance's vector file into the page cache at start-up (in the background, "
       "when it fits in 3/4 of the available memory).",
       &o->index.preload},
  };
}

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(where + ": " + what);
}

absl::Status SetFromString(const Setting& s, const std::string& value, const std::string& where) {
  struct Visitor {
    const std::string& v;
    const std::string& where;
    absl::Status operator()(std::string* p) const {
      *p = v;
      return absl::OkStatus();
    }
    absl::Status operator()(int* p) const {
      if (!absl::SimpleAtoi(v, p)) return Bad(where, "not an integer: `" + v + "`");
      return absl::OkStatus();
    }
    absl::Status operator()(int64_t* p) const {
      if (!absl::SimpleAtoi(v, p)) return Bad(where, "not an integer: `" + v + "`");
      return absl::OkStatus();
    }
    absl::Status operator()(bool* p) const {
      if (v == "true" || v == "1" || v == "yes" || v == "on") {
        *p = true;
      } else if (v == "false" || v == "0" || v == "no" || v == "off") {
        *p = false;
      } else {
        return Bad(where, "not a boolean: `" + v + "`");
      }
      return absl::OkStatus();
    }
    absl::Status operator()(double* p) const {
      if (!absl::SimpleAtod(v, p)) return Bad(where, "not a number: `" + v + "`");
      return absl::OkStatus();
    }
    absl::Status operator()(size_t* p) const {
      uint64_t u = 0;
      if (!absl::SimpleAtoi(v, &u)) return Bad(where, "not a non-negative integer: `" + v + "`");
      *p = size_t(u);
      return absl::OkStatus();
    }
    absl::Status operator()(Listen t) const {
      std::string host;
      int port = 0;
      if (!ParseListen(v, &host, &port)) return Bad(where, "must be HOST:PORT, got `" + v + "`");
      *t.host = host;
      *t.port = uint16_t(port);
      return absl::OkStatus();
    }
    absl::Status operator()(std::vector<std::string>* p) const {
      p->clear();
      for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
        std::string item(part);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) p->push_back(item);
      }
      return absl::OkStatus();
    }
  };
  return std::visit(Visitor{value, where}, s.target);
}

absl::Status SetFromToml(const Setting& s, const toml::node& node, const std::string& where) {
  struct Visitor {
    const toml::node& n;
    const std::string& where;
    absl::Status operator()(std::string* p) const {
      auto v = n.value<std::string>();
      if (!v) return Bad(where, "must be a string");
      *p = *v;
      return absl::OkStatus();
    }
    absl::Status operator()(int* p) const {
      if (!n.is_integer()) return Bad(where, "must be an integer");
      *p = int(*n.value<int64_t>());
      return absl::OkStatus();
    }
    absl::Status operator()(int64_t* p) const {
      if (!n.is_integer()) return Bad(where, "must be an integer");
      *p = *n.value<int64_t>();
      return absl::OkStatus();
    }
    absl::Status operator()(bool* p) const {
      if (!n.is_boolean()) return Bad(where, "must be a boolean");
      *p = *n.value<bool>();
      return absl::OkStatus();
    }
    absl::Status operator()(double* p) const {
      if (!n.is_number()) return Bad(where, "must be a number");
      *p = *n.value<double>();
      return absl::OkStatus();
    }
    absl::Status operator()(size_t* p) const {
      if (!n.is_integer() || *n.value<int64_t>() < 0) {
        return Bad(where, "must be a non-negative integer");
      }
      *p = size_t(*n.value<int64_t>());
      return absl::OkStatus();
    }
    absl::Status operator()(Listen t) const {
      auto v = n.value<std::string>();
      std::string host;
      int port = 0;
      if (!v || !ParseListen(*v, &host, &port)) return Bad(where, "must be \"HOST:PORT\"");
      *t.host = host;
      *t.port = uint16_t(port);
      return absl::OkStatus();
    }
    absl::Status operator()(std::vector<std::string>* p) const {
      const toml::array* a = n.as_array();
      if (a == nullptr) return Bad(where, "must be an array of strings");
      p->clear();
      for (const toml::node& e : *a) {
        auto v = e.value<std::string>();
        if (!v) return Bad(where, "must be an array of strings");
        p->push_back(*v);
      }
      return absl::OkStatus();
    }
  };
  return std::visit(Visitor{node, where}, s.target);
}

// [[storage.profiles]] tables (TOML only: a profile has too many parts for a flag).
absl::Status LoadProfiles(const toml::node& node, const std::string& where,
                          std::vector<blob::StorageProfile>* out) {
  const toml::array* a = node.as_array();
  if (a == nullptr) return Bad(where, "must be an array of tables ([[storage.profiles]])");
  out->clear();
  for (const toml::node& e : *a) {
    const toml::table* t = e.as_table();
    if (t == nullptr) return Bad(where, "must be an array of tables ([[storage.profiles]])");
    blob::StorageProfile p;
    std::string addressing = "path";
    const std::vector<Setting> fields = {
        {"name", "", "", &p.name},
        {"hosts", "", "", &p.hosts},
        {"buckets", "", "", &p.buckets},
        {"endpoint", "", "", &p.endpoint},
        {"region", "", "", &p.region},
        {"addressing", "", "", &addressing},
        {"connect_to", "", "", &p.connect_to},
        {"access_key", "", "", &p.access_key},
        {"secret_key", "", "", &p.secret_key},
        {"access_key_env", "", "", &p.access_key_env},
        {"secret_key_env", "", "", &p.secret_key_env},
        {"credentials_file", "", "", &p.credentials_file},
        {"allow_private", "", "", &p.allow_private},
    };
    for (const auto& [name, value] : *t) {
      const std::string key(name.str());
      const std::string at = where + "[" + std::to_string(out->size()) + "]." + key;
      bool known = false;
      for (const Setting& f : fields) {
        if (f.key != key) continue;
        known = true;
        if (absl::Status st = SetFromToml(f, value, at); !st.ok()) return st;
      }
      if (!known) return Bad(at, "unknown profile setting");
    }
    const std::string at = where + "[" + std::to_string(out->size()) + "]";
    if (addressing != "path" && addressing != "virtual") {
      return Bad(at + ".addressing", "must be \"path\" or \"virtual\"");
    }
    p.virtual_hosted = addressing == "virtual";
    if (p.endpoint.rfind("http://", 0) != 0 && p.endpoint.rfind("https://", 0) != 0) {
      return Bad(at + ".endpoint", "must be an http(s):// URL");
    }
    if (p.hosts.empty() && p.buckets.empty()) {
      return Bad(at, "needs hosts (URL host globs) or buckets (for s3:// URLs)");
    }
    out->push_back(std::move(p));
  }
  return absl::OkStatus();
}

absl::Status LoadToml(const std::string& file, const std::vector<Setting>& settings,
                      ServerOptions* options) {
  toml::table root;
  try {  // this toml++ build reports errors by exception: stop it here
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << e;
    return Bad(file, msg.str());
  }
  // Every key must be known: a typo should not silently fall back to a default.
  for (const auto& [section, node] : root) {
    const toml::table* t = node.as_table();
    if (t == nullptr)
      return Bad(file, "top-level key `" + std::string(section.str()) + "` must be a [section]");
    for (const auto& [name, value] : *t) {
      const std::string key = std::string(section.str()) + "." + std::string(name.str());
      if (key == "storage.profiles") {
        if (absl::Status st = LoadProfiles(value, file + ": " + key, &options->storage.profiles);
            !st.ok()) {
          return st;
        }
        continue;
      }
      bool known = false;
      for (const Setting& s : settings) {
        if (s.key != key) continue;
        known = true;
        if (absl::Status st = SetFromToml(s, value, file + ": " + key); !st.ok()) return st;
      }
      if (!known) return Bad(file, "unknown setting `" + key + "`");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const ServerOptions& o) {
  if (o.data_dir.empty()) return Bad("data_dir", "must not be empty");
  if (o.http.host.empty()) return Bad("listen", "must be HOST:PORT");
  if (o.http.io_threads < 1 || o.http.worker_threads < 1 || o.models.threads < 1 ||
      o.models.instances < 1 || o.background.threads < 1 || o.compute_threads < 1) {
    return Bad("threads", "io/worker/inference/background/compute threads must be >= 1");
  }
  if (o.http.max_body_bytes < 1024) return Bad("max_body_bytes", "must be >= 1024");
  if (o.http.header_timeout_ms < 1 || o.http.body_timeout_ms < 1 || o.http.idle_timeout_ms < 1 ||
      o.http.drain_timeout_ms < 0 || o.fetch.timeout_ms < 1) {
    return Bad("timeouts", "must be positive");
  }
  if (o.http.max_connections < 1) return Bad("max_connections", "must be >= 1");
  static const std::set<std::string> kLogLevels = {"trace", "debug", "info",
                                                   "warn",  "error", "off"};
  if (kLogLevels.count(o.log_level) == 0) {
    return Bad("log_level", "must be trace, debug, info, warn, error or off");
  }
  if (o.wal_recovery != "strict" && o.wal_recovery != "tolerate-torn-tail") {
    return Bad("wal_recovery", "must be strict or tolerate-torn-tail");
  }
  if (o.http.max_connections_per_address < 0) {
    return Bad("max_connections_per_address", "must be >= 0");
  }
  if (o.http.tls.cert_file.empty() != o.http.tls.key_file.empty()) {
    return Bad("tls", "cert_file and key_file go together");
  }
  if (o.storage.max_bytes < 1 || o.storage.timeout_ms < 1) {
    return Bad("storage", "max_bytes and timeout_ms must be >= 1");
  }
  if (o.fetch.max_bytes < 1 || o.fetch.max_redirects < 0 || o.fetch.max_concurrent < 0) {
    return Bad("fetch", "max_bytes must be >= 1, max_redirects and max_concurrent >= 0");
  }
  for (const api::RateLimit* l : {&o.credential_limit, &o.address_limit, &o.iam.login_limit}) {
    if (l->rate < 1 || l->burst < 1) return Bad("auth", "rates and bursts must be >= 1");
  }
  if (o.auth.token_ttl_s < 60) return Bad("auth", "token_ttl_s must be >= 60");
  for (const std::string& dir : o.files.roots) {
    if (dir.empty() || dir[0] != '/') {
      return Bad("jobs.import_dirs", "`" + dir + "` is not an absolute path");
    }
  }
  for (const std::string& origin : o.cors_origins) {
    const bool web = origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0;
    if (origin != "*" && (!web || origin.back() == '/')) {
      return Bad("http.cors_origins", "`" + origin + "` is not * or scheme://host[:port]");
    }
  }
  for (const std::string& dir : o.backup.dirs) {
    if (dir.empty() || dir[0] != '/') {
      return Bad("backup.dirs", "`" + dir + "` is not an absolute path");
    }
  }
  if (o.jobs.fetch_threads < 1 || o.jobs.embed_threads < 1 || o.jobs.batch < 1) {
    return Bad("jobs", "fetch_threads, embed_threads and batch must be >= 1");
  }
  if (o.engine.max_galleries_per_project < 1 || o.engine.max_items_per_gallery < 1) {
    return Bad("limits", "must be >= 1");
  }
  if (o.index.exact_max < 64 || o.index.merge_rows < 1 || o.index.nprobe < 1 ||
      o.index.rerank < 1) {
    return Bad("index", "exact_max must be >= 64 and merge_rows, nprobe, rerank >= 1");
  }
  if (o.index.vector_bits != 8 && o.index.vector_bits != 16) {
    return Bad("index", "vector_bits must be 8 or 16");
  }
  return absl::OkStatus();
}

// <prefix>/share/imagesearch/models beside this executable's <prefix>/bin, when it exists: where
// the install rules and the .deb put the models (packaging/). "" otherwise.
std::string InstalledModelDir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path dir = exe.parent_path().parent_path() / "share/imagesearch/models";
  return std::filesystem::is_directory(dir, ec) ? dir.string() : "";
}

absl::StatusOr<ServerOptions> LoadOptions(int argc, const char* const* argv) {
  ServerOptions options;
  std::vector<Setting> settings = Settings(&options);

  CLI::App app{
      "imagesearchd: self-hosted image search, wire-compatible with Image Search API v1.\n"
      "Settings come from defaults < --config TOML file < env ISS_<FLAG> < flags.\n"
      "Operator commands: imagesearchd admin --help",
      "imagesearchd"};
  app.set_version_flag("--version", std::string("imagesearchd ") + ISS_VERSION);
  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file (env ISS_CONFIG)");
  std::map<std::string, std::string> flag_values;
  std::map<std::string, CLI::Option*> flag_options;
  for (const Setting& s : settings) {
    flag_options[s.key] = app.add_option(
        s.flag, flag_values[s.key], s.help + " [TOML " + s.key + ", env " + EnvName(s.flag) + "]");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return absl::CancelledError("help");
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return absl::CancelledError("version");
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(std::string(e.what()) + " (see --help)");
  }
  if (config_file.empty()) {
    if (const char* env = std::getenv("ISS_CONFIG")) config_file = env;
  }
  if (!config_file.empty()) {
    if (absl::Status s = LoadToml(config_file, settings, &options); !s.ok()) return s;
  }
  for (const Setting& s : settings) {
    const std::string env_name = EnvName(s.flag);
    if (const char* env = std::getenv(env_name.c_str())) {
      if (absl::Status st = SetFromString(s, env, env_name); !st.ok()) return st;
    }
  }
  for (const Setting& s : settings) {
    if (flag_options[s.key]->count() == 0) continue;
    if (absl::Status st = SetFromString(s, flag_values[s.key], s.flag); !st.ok()) return st;
  }
  if (options.model_dir == ISS_MODEL_DIR) {  // not set anywhere: an installed tree's own first
    if (std::string installed = InstalledModelDir(); !installed.empty()) {
      options.model_dir = installed;
    }
  }
  if (absl::Status s = Validate(options); !s.ok()) return s;
  options.store.wal_recovery = options.wal_recovery == "tolerate-torn-tail"
                                   ? store::WalRecovery::kTolerateTornTail
                                   : store::WalRecovery::kStrict;
  return options;
}

}  // namespace iss::server
