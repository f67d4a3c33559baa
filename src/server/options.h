// ServerOptions: every setting of imagesearchd, with its default, and how it is loaded.
//
//   ASSIGN_OR_RETURN(config::ServerOptions opts, config::LoadOptions(argc, argv));
//
// Sources, later ones winning: in-class defaults < TOML file (--config FILE) <
// environment ISS_<KEY> (KEY = the flag name upper-cased, '-' -> '_', e.g.
// ISS_FETCH_ALLOWED_HOSTS) < command-line flags. `imagesearchd --help` lists them all;
// docs/configuration.md describes them. Lists (allowed hosts) are comma-separated in env
// and flags, TOML arrays in the file.
// Thread contract: a plain value; load once in main, then pass by const reference.
#ifndef ISS_CONFIG_OPTIONS_H_
#define ISS_CONFIG_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#ifndef ISS_MODEL_DIR
#define ISS_MODEL_DIR "models"
#endif

namespace iss::config {

struct ServerOptions {
  // --- server ---
  std::string data_dir = "./data";        // Default: ./data (RocksDB lives in <data_dir>/db)
  std::string listen = "127.0.0.1:8080";  // Default: 127.0.0.1:8080; port 0 = any free port
  std::string port_file;                  // Default: none. Write the bound port here
  std::string model_dir = ISS_MODEL_DIR;  // Default: the build's ISS_MODEL_DIR
  std::string log_level = "info";         // Default: info (trace|debug|info|warn|error|off)
  // --- http ---
  int io_threads = 2;                   // Default: 2 socket/parsing threads
  int worker_threads = 2;               // Default: 2 handler (inference) threads
  int inference_threads = 2;            // Default: 2 threads inside one model forward pass
  int64_t max_body_bytes = 32LL << 20;  // Default: 32 MiB (APIG.0201 above)
  int header_timeout_ms = 10000;        // Default: 10 s for request line + headers
  int body_timeout_ms = 60000;          // Default: 60 s for the body
  int idle_timeout_ms = 60000;          // Default: 60 s idle keep-alive
  int max_connections = 1024;           // Default: 1024 open connections
  int drain_timeout_ms = 30000;         // Default: 30 s to finish requests on SIGTERM
  // --- fetch (downloads for `path`) ---
  std::vector<std::string> fetch_allowed_hosts;  // Default: none (downloads refused)
  bool fetch_allow_private = false;              // Default: false (loopback/private refused)
  int64_t fetch_max_bytes = 10LL << 20;          // Default: 10 MiB per download
  int fetch_timeout_ms = 10000;                  // Default: 10 s per download
  int fetch_max_redirects = 3;                   // Default: 3, each re-checked
  // --- auth ---
  bool auth_enabled = true;                // Default: true. false = anyone may call (warned)
  int64_t auth_token_ttl_s = 86400;        // Default: 24 h token lifetime
  int64_t auth_credential_rate = 50000;    // Default: 50,000 requests/s per token or AK ...
  int64_t auth_credential_burst = 100000;  // ... with a burst of 100,000
  int64_t auth_address_rate = 50000;       // Default: 50,000 requests/s per source address ...
  int64_t auth_address_burst = 100000;     // ... with a burst of 100,000
  // --- limits ---
  int max_instances_per_project = 100;         // Default: 100
  int64_t max_images_per_instance = 30000000;  // Default: 30,000,000 (the only level)
  bool sync_writes = true;                     // Default: true (fsync before acknowledging)
  // --- index (docs/scaling.md) ---
  int64_t index_exact_max = 50000;   // Default: 50,000 vectors searched exactly
  int64_t index_merge_rows = 20000;  // Default: side buffer merged at 20,000 rows
  int index_nprobe = 16;             // Default: 16 inverted lists probed
  int index_rerank = 200;            // Default: 200 x limit candidates re-ranked exactly
  bool index_preload = true;         // Default: vector files read into the page cache at start

  // Host and port split from `listen`.
  std::string ListenHost() const;
  int ListenPort() const;
};

// Parses argv (argv[0] is the program). On --help prints the help and returns a status
// with code kCancelled (the caller exits 0). Invalid values give kInvalidArgument.
absl::StatusOr<ServerOptions> LoadOptions(int argc, const char* const* argv);

// Checks ranges and the listen address; LoadOptions calls it.
absl::Status Validate(const ServerOptions& options);

}  // namespace iss::config

#endif  // ISS_CONFIG_OPTIONS_H_
