// The HTTP/1.1 server (Boost.Beast + Asio behind a pimpl: no Beast types leak out). It owns
// sockets, parsing, timeouts and threads; what a request means is the Pipeline's.
//
//   api::HttpServerOptions opts;  opts.port = 0;   // 0 = pick a free port
//   ASSIGN_OR_RETURN(auto server, api::HttpServer::Start(opts, &pipeline));
//   std::cout << server->port();
//   ...
//   server->Shutdown();  // stop accepting, finish in-flight requests, close
//
// Behaviour: plain HTTP, or HTTPS when options.tls names a certificate (TLS 1.2+);
// keep-alive; the route is found from the request line, so its body-size limit
// (or the server's) is enforced from Content-Length (and from chunk sizes for chunked
// bodies) before the body is buffered (Reason::kPayloadTooLarge, rendered by the route's
// surface); timeouts for headers, body and idle keep-alive connections, and a cap on open
// connections in all and per peer address, so slow clients or one address cannot exhaust
// the server (refusals and accept failures such as EMFILE are logged at most every 10 s,
// and the accept loop backs off instead of spinning); a large body on an authenticated
// route is read only once the headers' credentials pass (Pipeline::AuthenticateHeaders);
// requests that do not parse get a 400 and the connection closes; the pipeline runs on a
// worker pool, never on the I/O threads (but routes marked on_io_thread, i.e. /health);
// every response carries X-Request-Id and every request gets one access-log line and one
// metrics observation (by route pattern).
// Thread contract: Start() and Shutdown() from one controlling thread; the pipeline must
// outlive the server.
#ifndef ISS_API_HTTP_HTTP_SERVER_H_
#define ISS_API_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/http/metrics.h"
#include "api/http/pipeline.h"

namespace iss::api {

// HTTPS: a PEM certificate chain and its private key. Both set: the listener speaks TLS
// (1.2 and 1.3 only) and nothing else; HttpServer::ReloadTls() re-reads the files.
struct TlsOptions {
  std::string cert_file;  // Default: none (plain HTTP)
  std::string key_file;   // Default: none
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";     // Default: loopback only
  uint16_t port = 8080;               // Default: 8080; 0 picks a free port
  int io_threads = 2;                 // Default: 2 threads for sockets and parsing
  int worker_threads = 2;             // Default: 2 threads running handlers (inference)
  int64_t max_body_bytes = 32 << 20;  // Default: 32 MiB for routes without their own limit
  int header_timeout_ms = 10000;      // Default: 10 s to receive the request line + headers
  int body_timeout_ms = 60000;        // Default: 60 s to receive the body
  int idle_timeout_ms = 60000;        // Default: 60 s a keep-alive connection may sit idle
  int max_connections = 1024;         // Default: 1024 open connections; more are closed at once
  // Default: 128 open connections from one peer address (0: no limit); more are closed at
  // once, so one address cannot hold every slot.
  int max_connections_per_address = 128;
  int drain_timeout_ms = 30000;  // Default: 30 s Shutdown() waits for in-flight requests
  Metrics* metrics = nullptr;    // when set, every answered request is counted and timed
  TlsOptions tls;                // Default: none, plain HTTP
  // Peers whose X-Forwarded-For is believed (addresses or CIDRs); the client address it
  // names is the one rate limits and the access log use (client_address.h). Default: none.
  std::vector<std::string> trusted_proxies;
};

class HttpServer {
 public:
  // Binds, listens and starts the threads. IS.0009 when the address cannot be bound.
  // `metrics` (optional) counts and times every answered request.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           const Pipeline* pipeline,
                                                           Metrics* metrics = nullptr);
  ~HttpServer();  // calls Shutdown()

  uint16_t port() const;  // the bound port (useful with port 0)
  // Re-reads the TLS certificate and key (options.tls); new connections use them, open ones
  // keep theirs. On failure the old ones stay in use. kFailedPrecondition without TLS.
  absl::Status ReloadTls();
  // Stops accepting, lets requests already received finish (up to drain_timeout_ms),
  // closes every connection and joins the threads. Idempotent.
  void Shutdown();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace iss::api

#endif  // ISS_API_HTTP_HTTP_SERVER_H_
