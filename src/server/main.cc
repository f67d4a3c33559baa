// imagesearchd: the server executable.
//
//   imagesearchd --data-dir DIR --listen 127.0.0.1:8080
//   imagesearchd --config /etc/imagesearchd.toml
//   imagesearchd admin ...          (operator commands, see `imagesearchd admin --help`)
//
// Builds the server (server/server.h), serves until SIGTERM/SIGINT, then drains in-flight
// requests and exits 0. SIGHUP re-reads the log level (config file, environment, flags) and
// the TLS certificate and key. --version prints the version. Exit 1 when start-up fails
// (bad config, data dir, models, port in use), 2 on bad command-line usage. Thread contract: main
// thread only.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "server/admin_cli.h"
#include "server/options.h"
#include "server/server.h"

namespace {

// Writes `port` to `path` atomically (a reader never sees a partial file).
void WritePortFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) spdlog::error("cannot write port file {}: {}", path, ec.message());
}

// SIGHUP: the settings that apply without a restart. The command line, environment and
// config file are read again (the file may have changed); today that is the log level.
void ReloadSettings(int argc, char** argv) {
  auto fresh = iss::server::LoadOptions(argc, argv);
  if (!fresh.ok()) {
    spdlog::error("SIGHUP: settings not reloaded: {}", std::string(fresh.status().message()));
    return;
  }
  spdlog::set_level(spdlog::level::from_str(fresh->log_level));
  spdlog::info("SIGHUP: log level {}", fresh->log_level);
}

int Serve(const iss::server::ServerOptions& opts, int argc, char** argv) {
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  // Block the stop signals in every thread (the server's threads inherit the mask); the
  // main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload settings (never the default: exit)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = iss::server::Server::Start(opts);
  if (!server.ok()) {
    const std::string msg(server.status().message());
    spdlog::critical("{}", msg);
    std::fprintf(stderr, "imagesearchd: %s\n", msg.c_str());
    return 1;
  }
  // The TLS port first: the plain port file is what harnesses wait for.
  if (!opts.tls_port_file.empty()) WritePortFile(opts.tls_port_file, (*server)->tls_port());
  if (!opts.port_file.empty()) WritePortFile(opts.port_file, (*server)->port());
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    ReloadSettings(argc, argv);
    if (opts.http.tls.cert_file.empty()) continue;  // no TLS listener
    absl::Status reloaded = (*server)->ReloadTls();
    if (reloaded.ok()) {
      spdlog::info("SIGHUP: TLS certificate and key reloaded");
    } else {
      spdlog::error("SIGHUP: {} (the previous certificate stays in use)",
                    std::string(reloaded.message()));
    }
  }
  spdlog::info("signal {} received: draining in-flight requests", sig);
  (*server)->Shutdown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "admin") == 0) {
    return iss::server::RunAdminCommand(argc - 1, argv + 1);
  }
  auto options = iss::server::LoadOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;  // --help, --version
    std::fprintf(stderr, "imagesearchd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  return Serve(*options, argc, argv);
}
