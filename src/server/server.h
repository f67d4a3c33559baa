// The composition root: builds every part of imagesearchd from ServerOptions, wires the
// ports to their adapters (RocksDB catalog, tiered Faiss index, ONNX models, http(s)
// downloads), the surfaces to the engine (v1, IAM, admin, health, metrics) and all of it
// to the HTTP server; owns them and tears them down in reverse order.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(options));
//   std::cout << server->port();
//   ...
//   server->Shutdown();   // stop accepting, drain, close the engine, the store
//
// Thread contract: Start() and Shutdown() from one controlling thread (main).
#ifndef ISS_SERVER_SERVER_H_
#define ISS_SERVER_SERVER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "server/options.h"

namespace iss::api {
class Router;
}

namespace iss::server {

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();  // Shutdown()

  uint16_t port() const;
  uint16_t tls_port() const;  // the HTTPS listener's port; 0 without TLS
  // The route table as served (tests compare it with docs/openapi.json).
  const api::Router& router() const;
  // Re-reads the TLS certificate and key (SIGHUP); on failure the old ones stay in use.
  absl::Status ReloadTls();
  // Stops accepting, lets running requests finish (http.drain_timeout_ms), then closes the
  // engine (final index snapshots), the background executor and the store. Idempotent.
  void Shutdown();

  struct Parts;

 private:
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Caps the threads OpenMP and OpenBLAS use inside one call (Faiss training, BLAS scans).
void CapComputeThreads(int threads);

}  // namespace iss::server

#endif  // ISS_SERVER_SERVER_H_
