#include "api/http/http_server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/http/client_address.h"
#include "api/http/tls.h"
#include "common/status.h"

namespace iss::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpServer::Impl {
  // Declared before the io_context: sessions destroyed with it still count down here.
  HttpServerOptions options;
  const Pipeline* pipeline = nullptr;
  Metrics* metrics = nullptr;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  bool shut_down = false;
  uint16_t port = 0;
  TrustedProxies proxies;
  // The TLS context new connections use (null: plain HTTP); ReloadTls() swaps it.
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;

  // Requests received and not yet answered (the drain waits for these).
  std::mutex busy_mu;
  std::condition_variable busy_cv;
  int busy = 0;

  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::thread_pool> workers;
  std::vector<std::thread> io_threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  // Accept failures (EMFILE/ENFILE when descriptors run out): the loop waits, doubling
  // up to 1 s, instead of spinning, and logs at most one line per 10 s.
  std::unique_ptr<asio::steady_timer> accept_timer;
  int accept_backoff_ms = 0;
  Clock::time_point accept_logged_at{};
  int64_t accept_failures_unlogged = 0;

  // Open connections by peer address (one address may not hold every slot).
  std::mutex per_address_mu;
  std::unordered_map<std::string, int> per_address;
  // Refused connections (over a cap): one log line per 10 s at most.
  std::mutex refused_mu;
  Clock::time_point refused_logged_at{};
  int64_t refused_unlogged = 0;

  // After a large request: glibc keeps freed memory in its arenas, so a burst of big
  // bodies would leave the process at its peak size; give it back (at most once a second).
  std::atomic<int64_t> trimmed_at_ms{0};
  void MaybeTrimHeap() {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
            .count();
    int64_t last = trimmed_at_ms.load();
    if (now - last < 1000 || !trimmed_at_ms.compare_exchange_strong(last, now)) return;
    asio::post(*workers, [] { malloc_trim(0); });  // walks the arenas: not on an I/O thread
  }

  void Accept();
  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard<std::mutex> l(tls_mu);
    return tls;
  }
  void OnAcceptFailed(const beast::error_code& ec);
  void Refuse(tcp::socket socket, const char* why);
  // Counts a connection from `address`; false (nothing counted) when it has its maximum.
  bool TakeAddressSlot(const std::string& address) {
    if (options.max_connections_per_address <= 0) return true;
    std::lock_guard<std::mutex> l(per_address_mu);
    int& n = per_address[address];
    if (n >= options.max_connections_per_address) {
      if (n == 0) per_address.erase(address);
      return false;
    }
    ++n;
    return true;
  }
  void ReleaseAddressSlot(const std::string& address) {
    if (options.max_connections_per_address <= 0) return;
    std::lock_guard<std::mutex> l(per_address_mu);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
  }
  void BeginRequest() {
    std::lock_guard<std::mutex> l(busy_mu);
    ++busy;
  }
  void EndRequest() {
    std::lock_guard<std::mutex> l(busy_mu);
    if (--busy == 0) busy_cv.notify_all();
  }
};

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(
      std::random_device{}() ^ uint64_t(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A request Beast could not parse (bad request line or version, bad or conflicting
// Content-Length / Transfer-Encoding, oversized headers, bad chunk framing): it gets a 400
// before the connection closes. A client that went away (end of stream, a partial
// message) gets nothing: there is no one to answer.
bool IsProtocolError(beast::error_code ec) {
  if (ec.category() != http::make_error_code(http::error::bad_version).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more && ec != http::error::body_limit;
}

// Bodies at least this large trigger a heap trim once answered (MaybeTrimHeap).
constexpr size_t kTrimAfterBytes = 1 << 20;

// One TCP connection: (TLS handshake) -> read header -> (check size) -> read body ->
// worker -> write -> loop. `Stream` is beast::tcp_stream or an ssl_stream over one.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  // `address`: the peer, whose slot (TakeAddressSlot) this session gives back at the end.
  Session(tcp::socket socket, HttpServer::Impl* server, std::string address) requires(!kTls)
      : stream_(std::move(socket)), server_(server), address_(std::move(address)) {
    server_->connections.fetch_add(1);
  }
  Session(tcp::socket socket, HttpServer::Impl* server, std::string address,
          std::shared_ptr<ssl::context> tls) requires(kTls)
      : tls_(std::move(tls)),
        stream_(std::move(socket), *tls_),
        server_(server),
        address_(std::move(address)) {
    server_->connections.fetch_add(1);
  }
  ~Session() {
    server_->ReleaseAddressSlot(address_);
    server_->connections.fetch_sub(1);
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::milliseconds(server_->options.header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadHeader(/*first=*/true);
                              });
    } else {
      ReadHeader(/*first=*/true);
    }
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadHeader(bool first) {
    if (server_->stopping.load()) return Close();
    match_ = Router::Match();
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(static_cast<uint64_t>(server_->options.max_body_bytes));
    // The first request must arrive within the header timeout; a kept-alive connection
    // may wait idle for the next one up to the idle timeout.
    Lowest().expires_after(std::chrono::milliseconds(first ? server_->options.header_timeout_ms
                                                           : server_->options.idle_timeout_ms));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    start_ = Clock::now();
    if (ec == http::error::body_limit) return RejectTooLarge();
    if (IsProtocolError(ec)) return RejectMalformed(ec);
    if (ec) return Close();
    const auto& req = parser_->get();
    if (req.version() != 10 && req.version() != 11) {
      return RejectMalformed(http::make_error_code(http::error::bad_version));
    }
    const std::string_view target(req.target().data(), req.target().size());
    match_ = server_->pipeline->Lookup(
        std::string_view(req.method_string().data(), req.method_string().size()),
        target.substr(0, target.find('?')));
    const int64_t route_limit = Pipeline::BodyLimit(match_);
    int64_t limit = route_limit > 0 ? route_limit : server_->options.max_body_bytes;
    // No route: the answer is a 404/405 whatever the body says, so it need not be big.
    if (match_.route == nullptr) limit = std::min<int64_t>(limit, 64 << 10);
    parser_->body_limit(static_cast<uint64_t>(limit));
    std::optional<uint64_t> len;
    if (auto declared = parser_->content_length()) len = *declared;
    if (len && *len > uint64_t(limit)) return RejectTooLarge();
    const bool body_expected = len ? *len > 0 : parser_->chunked();
    if (body_expected && server_->pipeline->WantsEarlyAuthentication(match_, len)) {
      return AuthenticateFirst();
    }
    ContinueToBody();
  }

  // A large body on an authenticated route: the headers' credentials are checked (on the
  // worker pool) before a byte of the body is read; a refusal is answered and the
  // connection closed, so an unauthenticated client never makes us buffer its body.
  void AuthenticateFirst() {
    auto req = std::make_shared<HttpRequest>();
    FillHeaders(parser_->get(), req.get());
    keep_alive_ = parser_->get().keep_alive();
    version_ = parser_->get().version();
    server_->BeginRequest();
    Lowest().expires_after(std::chrono::milliseconds(server_->options.body_timeout_ms));
    asio::post(*server_->workers, [self = this->shared_from_this(), req] {
      std::optional<HttpResponse> refusal =
          self->server_->pipeline->AuthenticateHeaders(*req, self->match_);
      asio::post(self->stream_.get_executor(), [self, req, refusal = std::move(refusal)]() mutable {
        if (refusal) return self->Write(*req, std::move(*refusal), /*close=*/true);
        self->server_->EndRequest();
        self->ContinueToBody();
      });
    });
  }

  void ContinueToBody() {
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      Lowest().expires_after(std::chrono::milliseconds(server_->options.body_timeout_ms));
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(std::chrono::milliseconds(server_->options.body_timeout_ms));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) return RejectTooLarge();
    if (IsProtocolError(ec)) return RejectMalformed(ec);
    if (ec) return Close();
    Lowest().expires_never();
    auto req = std::make_shared<HttpRequest>();
    auto& msg = parser_->get();
    FillHeaders(msg, req.get());
    req->body = std::move(msg.body());
    trim_after_write_ = req->body.size() >= kTrimAfterBytes;
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    server_->BeginRequest();
    if (match_.route != nullptr && match_.route->on_io_thread) {
      return Write(*req, server_->pipeline->Handle(*req, match_), /*close=*/false);
    }
    // Handlers may embed images: run them on the worker pool, then write from this
    // connection's strand.
    asio::post(*server_->workers, [self = this->shared_from_this(), req] {
      HttpResponse resp = self->server_->pipeline->Handle(*req, self->match_);
      asio::post(self->stream_.get_executor(), [self, req, resp = std::move(resp)]() mutable {
        self->Write(*req, std::move(resp), /*close=*/false);
      });
    });
  }

  // 400 (the default renderer: no route is trusted from a request that did not parse),
  // then close: the framing is lost, so the connection cannot carry another request.
  void RejectMalformed(beast::error_code ec) {
    HttpRequest req;
    req.method = "-";
    req.path = "-";
    req.request_id = NewRequestId();
    match_ = Router::Match();
    keep_alive_ = false;
    version_ = 11;
    server_->BeginRequest();
    Write(req,
          server_->pipeline->Reject(
              Fail(Reason::kMalformedRequest, "(malformed HTTP request: " + ec.message() + ")"),
              nullptr),
          /*close=*/true);
  }

  // Everything of a request but its body; a fresh request id.
  void FillHeaders(const http::request<http::string_body>& msg, HttpRequest* req) {
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    size_t q = req->target.find('?');
    req->path = req->target.substr(0, q);
    if (q != std::string::npos) req->query = req->target.substr(q + 1);
    for (const auto& field : msg) {
      req->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req->remote_addr = server_->proxies.ClientAddress(address_, req->Header("X-Forwarded-For"));
    req->secure = kTls;
    req->request_id = NewRequestId();
  }

  void RejectTooLarge() {
    HttpRequest req;
    if (parser_) {
      req.method = std::string(parser_->get().method_string());
      req.path = std::string(parser_->get().target());
      version_ = parser_->get().version();
      if (match_.route == nullptr) {
        match_ = server_->pipeline->Lookup(req.method, req.path.substr(0, req.path.find('?')));
      }
    }
    req.request_id = NewRequestId();
    server_->BeginRequest();
    Write(req, server_->pipeline->Reject(Fail(Reason::kPayloadTooLarge), &match_),
          /*close=*/true);
  }

  void Write(const HttpRequest& req, HttpResponse resp, bool close) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<unsigned>(resp.status));
    if (!resp.content_type.empty()) res->set(http::field::content_type, resp.content_type);
    res->set("X-Request-Id", req.request_id);
    server_->pipeline->cors().Apply(req, &resp);
    for (auto& [k, v] : resp.headers) res->set(k, v);
    res->body() = std::move(resp.body);
    const bool keep = keep_alive_ && !close && !server_->stopping.load();
    res->keep_alive(keep);
    res->prepare_payload();
    const size_t bytes = res->body().size();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    spdlog::info("{} {} {} {}B {:.1f}ms rid={} client={}", req.method, req.path, resp.status, bytes,
                 ms, req.request_id, req.remote_addr.empty() ? address_ : req.remote_addr);
    if (server_->metrics != nullptr) {
      const std::string_view route = match_.route ? std::string_view(match_.route->pattern) : "";
      server_->metrics->Observe(req.method, route, resp.status, ms / 1000);
    }
    Lowest().expires_after(std::chrono::milliseconds(server_->options.body_timeout_ms));
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep, close](beast::error_code ec, size_t) {
          self->server_->EndRequest();
          if (self->trim_after_write_) {
            self->trim_after_write_ = false;
            self->server_->MaybeTrimHeap();
          }
          if (ec) return self->Close();
          if (close) return self->DrainAndClose();
          if (!keep) return self->Close();
          self->ReadHeader(/*first=*/false);
        });
  }

  // After refusing a body: stop sending, read and discard what the client still sends for
  // a short while (so it sees our answer instead of a reset), then close.
  void DrainAndClose() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().expires_after(std::chrono::seconds(2));
    Discard();
  }
  void Discard() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  std::shared_ptr<ssl::context> tls_;  // kept alive for the stream (TLS only)
  Stream stream_;
  HttpServer::Impl* server_;
  const std::string address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = false;
  bool trim_after_write_ = false;  // a large body was handled: give the heap back after
  unsigned version_ = 11;
  Clock::time_point start_ = Clock::now();
  Router::Match match_;  // the current request's route (set when its headers arrive)
  char discard_[16384];
};

}  // namespace

void HttpServer::Impl::OnAcceptFailed(const beast::error_code& ec) {
  const bool out_of_fds =
      ec == asio::error::no_descriptors || ec == beast::errc::too_many_files_open_in_system;
  // Out of descriptors: nothing changes until a connection closes, so wait; any other
  // failure (a connection reset before it was accepted) is retried after a short pause.
  accept_backoff_ms =
      out_of_fds ? std::clamp(accept_backoff_ms * 2, 50, 1000) : std::max(accept_backoff_ms, 10);
  ++accept_failures_unlogged;
  const auto now = Clock::now();
  if (now - accept_logged_at >= std::chrono::seconds(10)) {
    spdlog::warn(
        "accept failed: {} ({} failures since the last report; {} connections open, "
        "retrying in {} ms)",
        ec.message(), accept_failures_unlogged, connections.load(), accept_backoff_ms);
    accept_logged_at = now;
    accept_failures_unlogged = 0;
  }
  accept_timer->expires_after(std::chrono::milliseconds(accept_backoff_ms));
  accept_timer->async_wait([this](beast::error_code wait_ec) {
    if (wait_ec || stopping.load()) return;
    Accept();
  });
}

void HttpServer::Impl::Refuse(tcp::socket socket, const char* why) {
  beast::error_code ignored;
  socket.close(ignored);
  std::lock_guard<std::mutex> l(refused_mu);
  ++refused_unlogged;
  const auto now = Clock::now();
  if (now - refused_logged_at >= std::chrono::seconds(10)) {
    spdlog::warn("connections refused ({}): {} since the last report, {} connections open", why,
                 refused_unlogged, connections.load());
    refused_logged_at = now;
    refused_unlogged = 0;
  }
}

void HttpServer::Impl::Accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) return;
      return OnAcceptFailed(ec);
    }
    accept_backoff_ms = 0;
    beast::error_code ep_ec;
    const auto peer = socket.remote_endpoint(ep_ec);
    std::string address = ep_ec ? std::string() : peer.address().to_string();
    if (connections.load() >= options.max_connections) {
      Refuse(std::move(socket), "max_connections");
    } else if (!TakeAddressSlot(address)) {
      Refuse(std::move(socket), "max_connections_per_address");
    } else if (std::shared_ptr<ssl::context> ctx = CurrentTls()) {
      using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;
      std::make_shared<TlsSession>(std::move(socket), this, std::move(address), std::move(ctx))
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(std::move(socket), this, std::move(address))
          ->Start();
    }
    if (!stopping.load()) Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

uint16_t HttpServer::port() const { return impl_->port; }

absl::Status HttpServer::ReloadTls() {
  if (!impl_->options.tls.enabled()) {
    return Fail(Reason::kUnavailable, "(this listener has no TLS)");
  }
  absl::StatusOr<std::shared_ptr<ssl::context>> ctx = MakeTlsContext(impl_->options.tls);
  if (!ctx.ok()) return ctx.status();
  std::lock_guard<std::mutex> l(impl_->tls_mu);
  impl_->tls = std::move(*ctx);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              const Pipeline* pipeline,
                                                              Metrics* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->pipeline = pipeline;
  impl->metrics = metrics;
  absl::StatusOr<TrustedProxies> proxies = TrustedProxies::Parse(options.trusted_proxies);
  if (!proxies.ok()) return proxies.status();
  impl->proxies = std::move(*proxies);
  if (options.tls.enabled()) {
    absl::StatusOr<std::shared_ptr<ssl::context>> ctx = MakeTlsContext(options.tls);
    if (!ctx.ok()) return ctx.status();
    impl->tls = std::move(*ctx);
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Fail(Reason::kUnavailable, "(bad listen address `" + options.host + "`)");
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor = std::make_unique<tcp::acceptor>(impl->ioc);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(Reason::kUnavailable, "(cannot listen on " + options.host + ":" +
                                          std::to_string(options.port) + ": " + ec.message() + ")");
  }
  impl->port = impl->acceptor->local_endpoint(ec).port();
  impl->workers = std::make_unique<asio::thread_pool>(std::max(1, options.worker_threads));
  impl->work.emplace(impl->ioc.get_executor());
  impl->accept_timer = std::make_unique<asio::steady_timer>(impl->acceptor->get_executor());
  impl->Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->io_threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Shutdown() {
  Impl& s = *impl_;
  if (s.shut_down) return;
  s.shut_down = true;
  s.stopping.store(true);
  asio::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
    s.accept_timer->cancel();
  });
  {
    std::unique_lock<std::mutex> l(s.busy_mu);
    if (!s.busy_cv.wait_for(l, std::chrono::milliseconds(s.options.drain_timeout_ms),
                            [&s] { return s.busy == 0; })) {
      spdlog::warn("shutdown: {} requests still running after the drain timeout", s.busy);
      s.workers->stop();  // drop queued handlers; running ones finish below
    }
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.io_threads) t.join();
  s.workers->join();
}

}  // namespace iss::api
