#include "config/options.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace iss::config {
namespace {

using Target = std::variant<std::string*, int*, int64_t*, bool*, std::vector<std::string>*>;

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
       &o->listen},
      {"server.port_file", "--port-file", "Write the bound port to this file.", &o->port_file},
      {"server.model_dir", "--model-dir", "Directory of model <name>.toml + ONNX files.",
       &o->model_dir},
      {"server.log_level", "--log-level", "trace|debug|info|warn|error|off.", &o->log_level},
      {"http.io_threads", "--io-threads", "Socket/parsing threads.", &o->io_threads},
      {"http.worker_threads", "--worker-threads", "Threads running handlers (inference).",
       &o->worker_threads},
      {"http.inference_threads", "--inference-threads", "Threads inside one forward pass.",
       &o->inference_threads},
      {"http.max_body_bytes", "--max-body-bytes", "Largest request body (APIG.0201 above).",
       &o->max_body_bytes},
      {"http.header_timeout_ms", "--header-timeout-ms", "Time to receive the headers.",
       &o->header_timeout_ms},
      {"http.body_timeout_ms", "--body-timeout-ms", "Time to receive the body.",
       &o->body_timeout_ms},
      {"http.idle_timeout_ms", "--idle-timeout-ms", "Idle keep-alive connection lifetime.",
       &o->idle_timeout_ms},
      {"http.max_connections", "--max-connections", "Open connections at most.",
       &o->max_connections},
      {"http.drain_timeout_ms", "--drain-timeout-ms",
       "On SIGTERM/SIGINT, wait this long for running requests.", &o->drain_timeout_ms},
      {"fetch.allowed_hosts", "--fetch-allowed-hosts",
       "Hosts `path` downloads may use: host, host:port, *.domain, or * (comma-separated).",
       &o->fetch_allowed_hosts},
      {"fetch.allow_private", "--fetch-allow-private",
       "Allow loopback/private/link-local addresses (for allowed hosts only).",
       &o->fetch_allow_private},
      {"fetch.max_bytes", "--fetch-max-bytes", "Largest download.", &o->fetch_max_bytes},
      {"fetch.timeout_ms", "--fetch-timeout-ms", "Time limit of one download.",
       &o->fetch_timeout_ms},
      {"fetch.max_redirects", "--fetch-max-redirects", "Redirects followed, each re-checked.",
       &o->fetch_max_redirects},
      {"auth.enabled", "--auth-enabled",
       "Authenticate /v1 requests (false: open to anyone, logged as a warning).", &o->auth_enabled},
      {"auth.token_ttl_s", "--auth-token-ttl-s", "Lifetime of issued tokens, seconds.",
       &o->auth_token_ttl_s},
      {"auth.credential_rate", "--auth-credential-rate",
       "Rate limit per token/AK, requests/s (APIG.0308 above).", &o->auth_credential_rate},
      {"auth.credential_burst", "--auth-credential-burst", "Burst allowed per token/AK.",
       &o->auth_credential_burst},
      {"auth.address_rate", "--auth-address-rate",
       "Rate limit per source address, requests/s (APIG.0308 above).", &o->auth_address_rate},
      {"auth.address_burst", "--auth-address-burst", "Burst allowed per source address.",
       &o->auth_address_burst},
      {"limits.max_instances_per_project", "--max-instances-per-project", "Instances per project.",
       &o->max_instances_per_project},
      {"limits.max_images_per_instance", "--max-images-per-instance", "Images per instance.",
       &o->max_images_per_instance},
      {"limits.sync_writes", "--sync-writes", "fsync every write before acknowledging it.",
       &o->sync_writes},
      {"index.exact_max", "--index-exact-max",
       "Instances up to this many vectors are searched exactly (no ANN).", &o->index_exact_max},
      {"index.merge_rows", "--index-merge-rows",
       "Side-buffer rows that trigger a background merge into the ANN tier.", &o->index_merge_rows},
      {"index.nprobe", "--index-nprobe", "Inverted lists probed per query.", &o->index_nprobe},
      {"index.rerank", "--index-rerank",
       "Candidates re-ranked exactly, as a multiple of the requested page size.", &o->index_rerank},
      {"index.preload", "--index-preload",
       "Read each instance's vector file into the page cache at start-up (in the background, "
       "when it fits in 3/4 of the available memory).",
       &o->index_preload},
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

absl::Status LoadToml(const std::string& file, const std::vector<Setting>& settings) {
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

std::string ServerOptions::ListenHost() const {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

int ServerOptions::ListenPort() const {
  size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return -1;
  }
  return port;
}

absl::Status Validate(const ServerOptions& o) {
  if (o.data_dir.empty()) return Bad("data_dir", "must not be empty");
  if (o.ListenHost().empty() || o.ListenPort() < 0 || o.ListenPort() > 65535) {
    return Bad("listen", "must be HOST:PORT, got `" + o.listen + "`");
  }
  if (o.io_threads < 1 || o.worker_threads < 1 || o.inference_threads < 1) {
    return Bad("threads", "io/worker/inference threads must be >= 1");
  }
  if (o.max_body_bytes < 1024) return Bad("max_body_bytes", "must be >= 1024");
  if (o.header_timeout_ms < 1 || o.body_timeout_ms < 1 || o.idle_timeout_ms < 1 ||
      o.drain_timeout_ms < 0 || o.fetch_timeout_ms < 1) {
    return Bad("timeouts", "must be positive");
  }
  if (o.max_connections < 1) return Bad("max_connections", "must be >= 1");
  if (o.fetch_max_bytes < 1 || o.fetch_max_redirects < 0) {
    return Bad("fetch", "max_bytes must be >= 1 and max_redirects >= 0");
  }
  if (o.auth_token_ttl_s < 60 || o.auth_credential_rate < 1 || o.auth_credential_burst < 1 ||
      o.auth_address_rate < 1 || o.auth_address_burst < 1) {
    return Bad("auth", "token_ttl_s must be >= 60 and rates/bursts >= 1");
  }
  if (o.max_instances_per_project < 1 || o.max_images_per_instance < 1) {
    return Bad("limits", "must be >= 1");
  }
  if (o.index_exact_max < 64 || o.index_merge_rows < 1 || o.index_nprobe < 1 ||
      o.index_rerank < 1) {
    return Bad("index", "exact_max must be >= 64 and merge_rows, nprobe, rerank >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerOptions> LoadOptions(int argc, const char* const* argv) {
  ServerOptions options;
  std::vector<Setting> settings = Settings(&options);

  CLI::App app{
      "imagesearchd: self-hosted image search, wire-compatible with Image Search API v1.\n"
      "Settings come from defaults < --config TOML file < env ISS_<FLAG> < flags.\n"
      "Operator commands: imagesearchd admin --help",
      "imagesearchd"};
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
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(std::string(e.what()) + " (see --help)");
  }
  if (config_file.empty()) {
    if (const char* env = std::getenv("ISS_CONFIG")) config_file = env;
  }
  if (!config_file.empty()) {
    if (absl::Status s = LoadToml(config_file, settings); !s.ok()) return s;
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
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return options;
}

}  // namespace iss::config
