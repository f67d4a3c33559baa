// The CLI's HTTP client: one request at a time to an imagesearch (or cloud) endpoint, signed
// with AK/SK (SDK-HMAC-SHA256, the cloud's SDK signature, auth/signer.h) or carrying an
// X-Auth-Token. Over the HTTP APIs only: the CLI links nothing of the server but the signer.
//
//   Client c({.endpoint = "http://127.0.0.1:8080", .ak = ak, .sk = sk});
//   ASSIGN_OR_RETURN(Response r, c.Call("POST", "/v1/p1/service", body));
//
// Failures: a transport error (no connection, timeout, TLS) is kUnavailable; any HTTP answer,
// error statuses included, is a Response.
// Thread contract: a Client is used by one thread at a time.
#ifndef ISS_TOOLS_CLI_CLIENT_H_
#define ISS_TOOLS_CLI_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"

namespace iss::cli {

struct Credentials {
  std::string endpoint;   // scheme://host[:port], no trailing slash
  std::string ak, sk;     // AK/SK signing when both are set
  std::string token;      // else an X-Auth-Token when set
  bool insecure = false;  // skip TLS certificate checks (self-signed test servers)
  int timeout_s = 120;
};

struct Response {
  long status = 0;
  std::string body;
  std::string request_id;  // X-Request-Id
};

class Client {
 public:
  explicit Client(Credentials credentials);
  // `path` starts with '/', may carry a query; `body` is JSON or empty.
  absl::StatusOr<Response> Call(const std::string& method, const std::string& path,
                                const std::string& body = "") const;
  const Credentials& credentials() const { return credentials_; }

 private:
  Credentials credentials_;
};

}  // namespace iss::cli

#endif  // ISS_TOOLS_CLI_CLIENT_H_
