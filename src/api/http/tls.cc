#include "api/http/tls.h"

#include <openssl/ssl.h>

#include <string>

#include "common/status.h"

namespace iss::api {

namespace ssl = boost::asio::ssl;

absl::StatusOr<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsOptions& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return Fail(Reason::kUnavailable, "(TLS: no usable cipher suite)");
  }
  auto failed = [](const std::string& what, const boost::system::error_code& e) {
    return Fail(Reason::kUnavailable, "(TLS: " + what + ": " + e.message() + ")");
  };
  if (ctx->use_certificate_chain_file(tls.cert_file, ec); ec) {
    return failed("certificate " + tls.cert_file, ec);
  }
  if (ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec); ec) {
    return failed("private key " + tls.key_file, ec);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Fail(Reason::kUnavailable, "(TLS: the private key does not match the certificate)");
  }
  return ctx;
}

}  // namespace iss::api
