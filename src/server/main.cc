// imagesearchd: the server executable.
//
//   imagesearchd --data-dir DIR --listen 127.0.0.1:8080
//   imagesearchd --config /etc/imagesearchd.toml
//   imagesearchd admin ...          (operator commands, see `imagesearchd admin --help`)
//
// Builds every part (store, models, fetcher, service, auth, router, HTTP server), serves
// until SIGTERM/SIGINT, then drains in-flight requests and exits 0. Exit 1 when start-up
// fails (bad config, data dir, models, port in use), 2 on bad command-line usage.
// Thread contract: main thread only; the parts it builds are shared with the server's
// threads and outlive them.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/router.h"
#include "api/v1_routes.h"
#include "common/error.h"
#include "config/options.h"
#include "core/service.h"
#include "features/embedder.h"
#include "fetch/fetcher.h"
#include "store/kv.h"

#ifdef ISS_HAVE_AUTH
#include "api/iam_routes.h"
#include "auth/admin_cli.h"
#include "auth/factory.h"
#endif

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  spdlog::critical("{}: {}", what, std::string(status.message()));
  std::fprintf(stderr, "imagesearchd: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

int Serve(const iss::config::ServerOptions& opts) {
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec) return Fail("data dir " + opts.data_dir, absl::InternalError(ec.message()));

  iss::store::DatabaseOptions db_options;
  db_options.sync_writes = opts.sync_writes;
  auto db = iss::store::Database::Open(opts.data_dir + "/db", db_options);
  if (!db.ok()) return Fail("opening the database", db.status());

  iss::features::RegistryOptions reg_options;
  reg_options.threads = opts.inference_threads;
  auto models = iss::features::ModelRegistry::Open(opts.model_dir, reg_options);
  if (!models.ok()) return Fail("loading models from " + opts.model_dir, models.status());

  iss::fetch::FetchOptions fetch_options;
  fetch_options.allowed_hosts = opts.fetch_allowed_hosts;
  fetch_options.allow_private_addresses = opts.fetch_allow_private;
  fetch_options.max_bytes = opts.fetch_max_bytes;
  fetch_options.timeout_ms = opts.fetch_timeout_ms;
  fetch_options.max_redirects = opts.fetch_max_redirects;
  iss::fetch::Fetcher fetcher(fetch_options);

  iss::core::ServiceOptions service_options;
  service_options.max_images_per_instance = opts.max_images_per_instance;
  service_options.max_instances_per_project = opts.max_instances_per_project;
  service_options.index_dir = opts.data_dir + "/index";
  service_options.index.exact_max = size_t(opts.index_exact_max);
  service_options.index.merge_rows = size_t(opts.index_merge_rows);
  service_options.index.nprobe = opts.index_nprobe;
  service_options.index.rerank = opts.index_rerank;
  service_options.index.preload = opts.index_preload;
  auto service = iss::core::OpenService(service_options, db->get(), models->get(), &fetcher);
  if (!service.ok()) return Fail("opening the service", service.status());

  iss::api::Router router;
  const iss::auth::Authenticator* authenticator = nullptr;
#ifdef ISS_HAVE_AUTH
  std::unique_ptr<iss::auth::AuthService> auth_impl;
  if (opts.auth_enabled) {
    iss::auth::AuthOptions auth_options;
    auth_options.token_ttl_s = opts.auth_token_ttl_s;
    auth_options.credential_rate = double(opts.auth_credential_rate);
    auth_options.credential_burst = double(opts.auth_credential_burst);
    auth_options.address_rate = double(opts.auth_address_rate);
    auth_options.address_burst = double(opts.auth_address_burst);
    auto made = iss::auth::MakeAuthenticator(db->get(), opts.data_dir, auth_options);
    if (!made.ok()) return Fail("starting authentication", made.status());
    auth_impl = std::move(*made);
    authenticator = auth_impl.get();
    iss::api::RegisterIamRoutes(&router, auth_impl.get());
  }
#else
  if (opts.auth_enabled) {
    spdlog::warn("auth.enabled is true but this build has no auth module (src/auth)");
  }
#endif
  if (authenticator == nullptr) {
    spdlog::warn(
        "*** AUTHENTICATION IS DISABLED: anyone who can reach {} may read and "
        "change every project ***",
        opts.listen);
  }
  iss::api::RegisterV1Routes(&router, service->get(), authenticator);
  // Liveness for load balancers and orchestrators: no credentials, no state revealed.
  router.Add("GET", "/health", [](const iss::api::HttpRequest&, const iss::api::RouteParams&) {
    iss::api::HttpResponse r;
    r.body = R"({"status":"ok"})";
    return r;
  });
  // Operator metrics (Prometheus text format): requests and latencies by route, totals.
  iss::api::Metrics metrics;
  iss::core::Service* svc = service->get();
  iss::api::RegisterMetricsRoute(&router, &metrics, [svc] {
    const iss::core::ServiceStats s = svc->Stats();
    return std::vector<iss::api::Metrics::Gauge>{
        {"instances", "Instances (galleries) over all projects.", double(s.instances)},
        {"images", "Images over all instances.", double(s.images)},
        {"index_ram_bytes", "Heap held by the indexes: codes, ids, maps.",
         double(s.index_ram_bytes)},
        {"index_disk_bytes", "Index files on disk: vector files and snapshots.",
         double(s.index_disk_bytes)}};
  });

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  iss::api::HttpServerOptions http;
  http.host = opts.ListenHost();
  http.port = static_cast<uint16_t>(opts.ListenPort());
  http.io_threads = opts.io_threads;
  http.worker_threads = opts.worker_threads;
  http.max_body_bytes = opts.max_body_bytes;
  http.header_timeout_ms = opts.header_timeout_ms;
  http.body_timeout_ms = opts.body_timeout_ms;
  http.idle_timeout_ms = opts.idle_timeout_ms;
  http.max_connections = opts.max_connections;
  http.drain_timeout_ms = opts.drain_timeout_ms;
  http.metrics = &metrics;
  auto server = iss::api::HttpServer::Start(http, &router);
  if (!server.ok()) return Fail("starting the HTTP server", server.status());
  const uint16_t port = (*server)->port();
  spdlog::info("imagesearchd listening on {}:{} (data {}, models {})", http.host, port,
               opts.data_dir, opts.model_dir);
  if (!opts.port_file.empty()) {
    const std::string tmp = opts.port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << port << "\n";
    }
    std::filesystem::rename(tmp, opts.port_file, ec);
    if (ec) spdlog::error("cannot write port file {}: {}", opts.port_file, ec.message());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received: draining in-flight requests", sig);
  (*server)->Shutdown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef ISS_HAVE_AUTH
  if (argc >= 2 && std::strcmp(argv[1], "admin") == 0) {
    return iss::auth::RunAdminCommand(argc - 1, argv + 1);
  }
#endif
  auto options = iss::config::LoadOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;  // --help
    std::fprintf(stderr, "imagesearchd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  return Serve(*options);
}
