// ServerOptions: every setting of imagesearchd, and how it is loaded. Each component owns
// its options struct and its defaults (HttpServerOptions, HttpSourceOptions, AuthOptions,
// EngineOptions, TieredOptions ...); ServerOptions nests them, so no default is written
// twice and nothing is copied field by field. Settings bind to the nested fields directly.
//
//   ASSIGN_OR_RETURN(server::ServerOptions opts, server::LoadOptions(argc, argv));
//   opts.http.worker_threads;   // [http] worker_threads, --worker-threads, ISS_WORKER_THREADS
//
// Sources, later ones winning: in-class defaults < TOML file (--config FILE) <
// environment ISS_<KEY> (KEY = the flag name upper-cased, '-' -> '_', e.g.
// ISS_FETCH_ALLOWED_HOSTS) < command-line flags. `imagesearchd --help` lists them all;
// docs/configuration.md describes them. Lists (allowed hosts) are comma-separated in env
// and flags, TOML arrays in the file.
// Thread contract: a plain value; load once in main, then pass by const reference.
#ifndef ISS_SERVER_OPTIONS_H_
#define ISS_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/console/console.h"
#include "api/http/http_server.h"
#include "api/http/rate_limiter.h"
#include "api/iam/routes.h"
#include "auth/auth_service.h"
#include "blob/file_source.h"
#include "blob/http_source.h"
#include "blob/s3_source.h"
#include "common/executor.h"
#include "engine/engine.h"
#include "engine/jobs/job_runner.h"
#include "features/model_registry.h"
#include "index/tiered_index.h"
#include "server/backup.h"
#include "store/kv.h"

#ifndef ISS_MODEL_DIR
#define ISS_MODEL_DIR "models"
#endif

namespace iss::server {

struct ServerOptions {
  // --- the process ---
  std::string data_dir = "./data";        // Default: ./data (RocksDB lives in <data_dir>/db)
  std::string port_file;                  // Default: none. Write the bound port here
  std::string model_dir = ISS_MODEL_DIR;  // Default: the build's ISS_MODEL_DIR
  std::string log_level = "info";         // Default: info (trace|debug|info|warn|error|off)
  bool auth_enabled = true;               // Default: true. false = anyone may call (warned)
  // store.wal_recovery: "strict" (default: a damaged WAL record refuses the start) or
  // "tolerate-torn-tail" (for one start after a power loss: accepts a torn last record).
  // LoadOptions sets store.wal_recovery from it.
  std::string wal_recovery = "strict";
  // Threads inside OpenMP/BLAS (index training, exact scans). Default: 2 (the cores).
  int compute_threads = 2;

  // HTTPS listener, started when http.tls names a certificate and key (plain HTTP on
  // `http.host:port` stays, for loopback and development).
  std::string tls_host = "127.0.0.1";  // Default: 127.0.0.1:8443
  uint16_t tls_port = 8443;
  std::string tls_port_file;  // Default: none. Write the HTTPS listener's bound port here

  // --- the components (each with its own defaults) ---
  api::HttpServerOptions http;  // listen address, threads, limits, timeouts
  // Web origins allowed to call the API from a browser on another host ("*": any).
  std::vector<std::string> cors_origins;  // Default: none (CORS off)
  api::RateLimit address_limit;           // requests/s per source address (authenticated routes)
  api::RateLimit credential_limit;        // requests/s per token user / access key
  api::iam::IamOptions iam;               // token issue: login rate limits, body limit
  auth::AuthOptions auth;                 // token lifetime, signature rules
  blob::HttpSourceOptions fetch;          // downloads for `path`
  blob::S3SourceOptions storage;          // object storage for `path`: [[storage.profiles]]
  blob::FileSourceOptions files;          // server-side directories for imports: jobs.import_dirs
  features::RegistryOptions models;       // inference threads
  store::DatabaseOptions store;           // durability
  engine::EngineOptions engine;           // instance and image limits
  engine::JobRunnerOptions jobs;          // import and sync jobs: [jobs]
  index::TieredOptions index;             // tiering and search knobs (docs/scaling.md)
  BackupOptions backup;                   // where online backups may go: [backup] dirs
  ExecutorOptions background{.threads = 2, .name = "index"};  // background index work
  // The web console at /console/: [console]
  api::console::ConsoleOptions console;
};

// Parses argv (argv[0] is the program). On --help prints the help and returns a status
// with code kCancelled (the caller exits 0). Invalid values give kInvalidArgument.
absl::StatusOr<ServerOptions> LoadOptions(int argc, const char* const* argv);

// Checks ranges; LoadOptions calls it.
absl::Status Validate(const ServerOptions& options);

}  // namespace iss::server

#endif  // ISS_SERVER_OPTIONS_H_
