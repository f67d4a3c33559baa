#include "api/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "api/http/pipeline.h"
#include "api/v1/routes.h"
#include "common/mutex.h"

namespace iss::api {
namespace {

// A blocking client socket with a receive timeout.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Conn() { close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) { (void)!send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Reads one response (headers + Content-Length body); "" on EOF/timeout.
  std::string ReadResponse() {
    while (true) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t len = 0;
        size_t cl = buf_.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) len = std::stoul(buf_.substr(cl + 16));
        if (buf_.size() >= end + 4 + len) {
          std::string r = buf_.substr(0, end + 4 + len);
          buf_.erase(0, end + 4 + len);
          return r;
        }
      }
      char tmp[4096];
      ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0) return "";
      buf_.append(tmp, size_t(n));
    }
  }
  // True when the server closed the connection (EOF) within the receive timeout.
  bool ClosedByPeer() {
    char tmp[256];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    return n == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", [](const Call& call) {
      const HttpRequest& req = call.request;
      HttpResponse r;
      r.body = "len=" + std::to_string(req.body.size()) + " q=" + req.query;
      return r;
    });
    router_.Add("GET", "/slow", [this](const Call&) {
      slow_started_.Notify();
      std::this_thread::sleep_for(std::chrono::milliseconds(400));  // a long request
      HttpResponse r;
      r.body = "slow done";
      return r;
    });
  }
  void StartServer(HttpServerOptions o = {}) {
    o.port = 0;
    o.max_body_bytes = 4096;
    // The server speaks the v1 dialect for requests no route handles (404, 413).
    pipeline_ = std::make_unique<Pipeline>(
        &router_, nullptr, PipelineOptions{.default_errors = v1::RenderDefaultError});
    auto s = HttpServer::Start(o, pipeline_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  iss::Notification slow_started_;
  Router router_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  Conn c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.Send(Post("/echo?i=" + std::to_string(i), "abc"));
    std::string r = c.ReadResponse();
    EXPECT_NE(r.find("200 OK"), std::string::npos) << r;
    EXPECT_NE(r.find("len=3 q=i=" + std::to_string(i)), std::string::npos) << r;
    EXPECT_NE(r.find("X-Request-Id: "), std::string::npos) << r;
  }
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIsIS0010) {
  StartServer();
  Conn c(server_->port());
  c.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("404 Not Found"), std::string::npos) << r;
  EXPECT_NE(r.find("APIG.0101"), std::string::npos) << r;
  c.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_NE(r.find("400 Bad Request"), std::string::npos) << r;
  EXPECT_NE(r.find("IS.0010"), std::string::npos) << r;
}

TEST_F(HttpServerTest, OversizedContentLengthRefusedBeforeBody) {
  StartServer();
  Conn c(server_->port());
  // Only the headers are sent: the answer must come without the body.
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("413"), std::string::npos) << r;
  EXPECT_NE(r.find("APIG.0201"), std::string::npos) << r;
}

TEST_F(HttpServerTest, OversizedChunkedBodyRefused) {
  StartServer();
  Conn c(server_->port());
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(3000, 'a');
  req += "bb8\r\n" + chunk + "\r\nbb8\r\n" + chunk + "\r\n";
  c.Send(req);
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("APIG.0201"), std::string::npos) << r;
}

TEST_F(HttpServerTest, BodyAtTheLimitIsAccepted) {
  StartServer();
  Conn c(server_->port());
  c.Send(Post("/echo", std::string(4096, 'x')));
  EXPECT_NE(c.ReadResponse().find("len=4096"), std::string::npos);
}

TEST_F(HttpServerTest, SilentClientIsDisconnected) {
  HttpServerOptions o;
  o.header_timeout_ms = 200;
  StartServer(o);
  Conn c(server_->port());
  c.Send("POST /echo HTTP/1.1\r\n");  // never finishes its headers
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(HttpServerTest, ConnectionCapClosesExtraConnections) {
  HttpServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  Conn a(server_->port()), b(server_->port());
  a.Send(Post("/echo", "1"));
  b.Send(Post("/echo", "2"));
  ASSERT_FALSE(a.ReadResponse().empty());
  ASSERT_FALSE(b.ReadResponse().empty());
  Conn extra(server_->port());
  EXPECT_TRUE(extra.ClosedByPeer());
}

TEST_F(HttpServerTest, ShutdownDrainsRunningRequests) {
  StartServer();
  Conn c(server_->port());
  c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  slow_started_.WaitForNotification();  // the request is running when the stop comes
  std::thread stopper([&] { server_->Shutdown(); });
  std::string r = c.ReadResponse();
  stopper.join();
  EXPECT_NE(r.find("slow done"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
}

}  // namespace
}  // namespace iss::api
