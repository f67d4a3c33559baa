// Internal to api/http: the TLS server context of an HTTPS listener, made from
// HttpServerOptions::tls (a PEM certificate chain and its private key). TLS 1.2 and 1.3
// only, forward-secret AEAD cipher suites for TLS 1.2, no compression, no renegotiation.
// A context is immutable once made; a reload makes a new one (the sessions already open
// keep theirs). Thread contract: MakeTlsContext() is thread-safe.
#ifndef ISS_API_HTTP_TLS_H_
#define ISS_API_HTTP_TLS_H_

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "api/http/http_server.h"

namespace iss::api {

// kUnavailable (with OpenSSL's reason) when a file cannot be read or the key does not
// match the certificate.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const TlsOptions& tls);

}  // namespace iss::api

#endif  // ISS_API_HTTP_TLS_H_
