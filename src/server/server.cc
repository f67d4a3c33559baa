#include "server/server.h"

#include <dlfcn.h>
#include <omp.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "api/admin/routes.h"
#include "api/console/console.h"
#include "api/http/http_server.h"
#include "api/http/metrics.h"
#include "api/http/pipeline.h"
#include "api/http/router.h"
#include "api/iam/routes.h"
#include "api/openapi/openapi.h"
#include "api/v1/jobs_routes.h"
#include "api/v1/routes.h"
#include "blob/http_source.h"
#include "blob/router.h"
#include "blob/s3_source.h"
#include "common/env.h"
#include "common/executor.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine.h"
#include "engine/jobs/job_runner.h"
#include "features/model_registry.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "server/admin_cli.h"
#include "server/auth_setup.h"
#include "server/backup.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"
#include "store/rocks_job_store.h"

namespace iss::server {

void CapComputeThreads(int threads) {
  omp_set_num_threads(threads);
  // OpenBLAS, when it is the BLAS the process loaded (Debian's alternatives decide).
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

// Members in the order they are built; destroyed in reverse.
struct Server::Parts {
  std::unique_ptr<store::Database> db;
  std::unique_ptr<engine::ModelRegistry> models;
  std::unique_ptr<blob::Router> blobs;
  std::unique_ptr<Executor> background;
  std::unique_ptr<engine::CatalogStore> catalog;
  std::unique_ptr<index::LocalSnapshotStore> snapshots;
  std::unique_ptr<index::TieredShardFactory> shards;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<engine::JobStore> job_store;
  std::unique_ptr<engine::JobRunner> jobs;
  std::unique_ptr<BackupManager> backups;
  std::unique_ptr<auth::AuthService> auth;
  api::Metrics metrics;
  api::Router router;
  std::unique_ptr<api::Pipeline> pipeline;
  std::unique_ptr<api::HttpServer> http;
  std::unique_ptr<api::HttpServer> https;  // the TLS listener, when configured
  bool shut_down = false;
};

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Server::~Server() { Shutdown(); }

uint16_t Server::port() const { return parts_->http->port(); }

const api::Router& Server::router() const { return parts_->router; }

uint16_t Server::tls_port() const { return parts_->https ? parts_->https->port() : 0; }

absl::Status Server::ReloadTls() {
  if (!parts_->https) return Fail(Reason::kUnavailable, "(no TLS listener is configured)");
  return parts_->https->ReloadTls();
}

void Server::Shutdown() {
  Parts& p = *parts_;
  if (p.shut_down) return;
  p.shut_down = true;
  if (p.https) p.https->Shutdown();
  if (p.http) p.http->Shutdown();
  p.https.reset();
  p.http.reset();
  p.pipeline.reset();
  if (p.jobs) p.jobs->Stop();  // running jobs stay running in the store: resumed at start
  p.jobs.reset();
  p.engine.reset();  // shards stop their work and write their final snapshots
  if (p.background) p.background->Shutdown();
}

namespace {

// File descriptors: the soft RLIMIT_NOFILE is raised to the hard one (and read back), and
// the connection cap is fitted under it with a reserve for what else holds descriptors
// (RocksDB's files, each instance's vector file, downloads, logs): a quarter of the
// limit, at least 256. Connections can then never take the descriptors the store and the
// index need. Fails when not even 16 connections fit.
absl::StatusOr<int> FitConnectionsToDescriptors(int wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return Fail(Reason::kUnavailable, std::string("(getrlimit: ") + std::strerror(errno) + ")");
  }
  if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur < rl.rlim_max)) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      spdlog::warn("cannot raise the file-descriptor limit from {} to {}: {}", rl.rlim_cur,
                   rl.rlim_max, std::strerror(errno));
    }
    getrlimit(RLIMIT_NOFILE, &rl);  // what we really have now
  }
  const int64_t limit = rl.rlim_cur == RLIM_INFINITY ? int64_t{1} << 30 : int64_t(rl.rlim_cur);
  const int64_t reserve = std::max<int64_t>(256, limit / 4);
  const int64_t room = limit - reserve;
  if (room < 16) {
    return Fail(Reason::kUnavailable,
                "(the file-descriptor limit (RLIMIT_NOFILE) is " + std::to_string(limit) +
                    "; at least " + std::to_string(reserve + 16) +
                    " are needed: raise it with `ulimit -n` or LimitNOFILE=)");
  }
  if (wanted > room) {
    spdlog::warn(
        "http.max_connections lowered from {} to {}: the file-descriptor limit is {} and {} are "
        "kept for the store, the index files and downloads (raise `ulimit -n` to allow more)",
        wanted, room, limit, reserve);
    return int(room);
  }
  spdlog::info("file-descriptor limit {}: up to {} connections, {} descriptors kept in reserve",
               limit, wanted, limit - wanted);
  return wanted;
}

absl::Status StartFailed(const std::string& what, const absl::Status& s) {
  return absl::Status(s.code(), what + ": " + std::string(s.message()));
}

void RegisterOperatorRoutes(Server::Parts& p) {
  // Liveness for load balancers and orchestrators: no credentials, no state revealed.
  // Answered on the I/O thread: busy handler threads (slow downloads, inference) do not
  // delay it.
  p.router.Add(api::Route{.method = "GET",
                          .pattern = "/health",
                          .handler =
                              [](const api::Call&) {
                                api::HttpResponse r;
                                r.body = R"({"status":"ok"})";
                                return r;
                              },
                          .on_io_thread = true});
  // Operator metrics (Prometheus text format): requests and latencies by route, totals.
  engine::Engine* e = p.engine.get();
  engine::JobRunner* jobs = p.jobs.get();
  api::RegisterMetricsRoute(&p.router, &p.metrics, [e, jobs] {
    const model::EngineStats s = e->Stats();
    // Jobs: how many run, and how far the furthest-behind sync job lags its bucket.
    double running = 0, lag = 0;
    if (absl::StatusOr<std::vector<engine::Job>> all = jobs->List(""); all.ok()) {
      for (const engine::Job& j : *all) {
        if (j.state != engine::JobState::kRunning) continue;
        ++running;
        if (j.progress.lag_ms > 0) lag = std::max(lag, double(j.progress.lag_ms) / 1000.0);
      }
    }
    return std::vector<api::Metrics::Gauge>{
        {"import_jobs_running", "Import and sync jobs running.", running},
        {"sync_lag_seconds_max", "Longest time since a running sync job's last complete pass.",
         lag},
        {"instances", "Instances (galleries) over all projects.", double(s.galleries)},
        {"images", "Images over all instances.", double(s.items)},
        {"index_ram_bytes", "Heap held by the indexes: codes, ids, maps.",
         double(s.index_ram_bytes)},
        {"index_disk_bytes", "Index files on disk: vector files and snapshots.",
         double(s.index_disk_bytes)}};
  });
}

// DATA/FORMAT: the data directory's format version, "imagesearch-data N". Written when a
// directory is first used (an older directory without it is version 1: the formats inside,
// the catalog's records, snapshots and vector files, carry versions of their own, and
// in-place upgrades such as the calibrated vectors' run at start-up). A directory of a
// newer version than this binary knows is refused before anything in it is opened, so a
// downgrade never rewrites data it does not understand (docs/storage.md, "Upgrades").
constexpr int kDataFormat = 1;

absl::Status CheckDataFormat(Env* env, const std::string& data_dir) {
  const std::string path = data_dir + "/FORMAT";
  if (!env->FileExists(path)) {
    return WriteFileAtomically(env, path, "imagesearch-data " + std::to_string(kDataFormat) + "\n");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, path));
  int version = 0;
  if (std::sscanf(text.c_str(), "imagesearch-data %d", &version) != 1 || version < 1) {
    return Fail(Reason::kCorrupt, "(" + path + " is not an imagesearch data format file)");
  }
  if (version > kDataFormat) {
    return Fail(Reason::kUnavailable,
                "(" + data_dir + " has data format " + std::to_string(version) +
                    "; this imagesearchd reads up to " + std::to_string(kDataFormat) +
                    ": run the newer version, or restore a backup made for this one)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& o) {
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  CapComputeThreads(o.compute_threads);
  // First, before the store opens its files.
  api::HttpServerOptions http_options = o.http;
  absl::StatusOr<int> connections = FitConnectionsToDescriptors(o.http.max_connections);
  if (!connections.ok()) return StartFailed("file descriptors", connections.status());
  http_options.max_connections = *connections;
  Env* env = Env::Default();
  if (absl::Status s = env->CreateDirs(o.data_dir); !s.ok()) {
    return StartFailed("data dir " + o.data_dir, s);
  }
  if (absl::Status s = CheckDataFormat(env, o.data_dir); !s.ok()) {
    return StartFailed("data dir " + o.data_dir, s);
  }

  auto db = store::Database::Open(o.data_dir + "/db", o.store);
  if (!db.ok()) return StartFailed("opening the database", db.status());
  p.db = std::move(*db);

  auto models = features::OpenModelRegistry(o.model_dir, o.models);
  if (!models.ok()) return StartFailed("loading models from " + o.model_dir, models.status());
  p.models = std::move(*models);

  blob::HttpSourceOptions fetch = o.fetch;
  // Downloads never take every handler thread (slow servers would stall the API).
  if (fetch.max_concurrent == 0) fetch.max_concurrent = std::max(1, o.http.worker_threads - 1);
  blob::FileSourceOptions files = o.files;
  files.max_bytes = o.storage.max_bytes;
  for (const std::string& dir : files.roots) {
    spdlog::warn("server-side directory {} is readable by import jobs and `path` (file://)", dir);
  }
  p.blobs = std::make_unique<blob::Router>(std::make_unique<blob::S3Source>(o.storage),
                                           std::make_unique<blob::HttpSource>(fetch),
                                           std::make_unique<blob::FileSource>(files));
  for (const blob::StorageProfile& sp : o.storage.profiles) {
    spdlog::info("storage profile `{}`: endpoint {}, {} addressing{}", sp.name, sp.endpoint,
                 sp.virtual_hosted ? "virtual-hosted" : "path-style",
                 sp.allow_private ? ", private addresses allowed" : "");
  }
  p.background = std::make_unique<Executor>(o.background);

  auto catalog = store::OpenCatalog(p.db.get());
  if (!catalog.ok()) return StartFailed("opening the catalog", catalog.status());
  p.catalog = std::move(*catalog);
  p.snapshots = std::make_unique<index::LocalSnapshotStore>(o.data_dir + "/index", env);
  p.shards = std::make_unique<index::TieredShardFactory>(o.index, p.background.get(), env,
                                                         p.snapshots.get());

  engine::EnginePorts ports;
  ports.catalog = p.catalog.get();
  ports.index = p.shards.get();
  ports.models = p.models.get();
  ports.blobs = p.blobs.get();
  ports.snapshots = p.snapshots.get();
  auto engine = engine::Engine::Open(o.engine, ports);
  if (!engine.ok()) return StartFailed("opening the engine", engine.status());
  p.engine = std::move(*engine);

  auto job_store = store::OpenJobStore(p.db.get());
  if (!job_store.ok()) return StartFailed("opening the job store", job_store.status());
  p.job_store = std::move(*job_store);
  p.jobs =
      std::make_unique<engine::JobRunner>(p.engine.get(), p.job_store.get(), p.blobs.get(), o.jobs);
  if (absl::Status s = p.jobs->Start(); !s.ok()) return StartFailed("resuming jobs", s);

  const auth::Authenticator* authenticator = nullptr;
  if (o.auth_enabled) {
    auto made = MakeAuthenticator(p.db.get(), o.data_dir, o.auth);
    if (!made.ok()) return StartFailed("starting authentication", made.status());
    p.auth = std::move(*made);
    authenticator = p.auth.get();
    api::iam::RegisterRoutes(&p.router, p.auth.get(), o.iam);
  } else {
    spdlog::warn(
        "*** AUTHENTICATION IS DISABLED: anyone who can reach {}:{} may read and change every "
        "project ***",
        o.http.host, o.http.port);
  }
  api::v1::RegisterRoutes(&p.router, p.engine.get());
  api::v1::RegisterJobRoutes(&p.router, p.jobs.get());
  p.backups =
      std::make_unique<BackupManager>(p.db.get(), p.snapshots.get(), o.data_dir, o.backup, env);
  api::admin::AdminDeps admin;
  admin.engine = p.engine.get();
  admin.jobs = p.jobs.get();
  admin.auth = p.auth.get();
  admin.backups = p.backups.get();
  admin.secrets_changed = [auth = p.auth.get(), dir = o.data_dir] {
    if (absl::Status s = WriteBootstrapFile(*auth, dir); !s.ok()) {
      spdlog::error("bootstrap file not rewritten: {}", std::string(s.message()));
    }
  };
  api::admin::RegisterRoutes(&p.router, admin);
  if (o.console.enabled) api::console::RegisterRoutes(&p.router);
  RegisterOperatorRoutes(p);
  api::openapi::RegisterRoutes(&p.router);

  api::PipelineOptions pipeline;
  pipeline.address_limit = o.address_limit;
  pipeline.credential_limit = o.credential_limit;
  pipeline.cors_origins = o.cors_origins;
  pipeline.default_errors = api::v1::RenderDefaultError;
  p.pipeline = std::make_unique<api::Pipeline>(&p.router, authenticator, pipeline);

  api::HttpServerOptions plain = http_options;
  plain.tls = {};
  auto http = api::HttpServer::Start(plain, p.pipeline.get(), &p.metrics);
  if (!http.ok()) return StartFailed("starting the HTTP server", http.status());
  p.http = std::move(*http);
  if (o.http.tls.enabled()) {
    api::HttpServerOptions tls = http_options;  // the descriptor budget covers both listeners
    tls.host = o.tls_host;
    tls.port = o.tls_port;
    auto https = api::HttpServer::Start(tls, p.pipeline.get(), &p.metrics);
    if (!https.ok()) return StartFailed("starting the HTTPS server", https.status());
    p.https = std::move(*https);
    spdlog::info("imagesearchd listening on https://{}:{} (TLS 1.2+, {})", o.tls_host,
                 p.https->port(), o.http.tls.cert_file);
  }
  spdlog::info("imagesearchd listening on {}:{} (data {}, models {})", o.http.host, p.http->port(),
               o.data_dir, o.model_dir);
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

}  // namespace iss::server
