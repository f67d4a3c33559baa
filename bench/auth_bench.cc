// imagesearch-bench auth [--seconds S] [--dir DIR]
//
// Cost of authentication alone, in process, on a real database in a fresh temp dir:
//   - token issue (POST /v3/auth/tokens work: argon2id verify + mint), per second;
//   - Authenticate() of an IAM token (HMAC check + user record read), per second;
//   - Authenticate() of an AK/SK-signed request shaped like the Python SDK's `check`
//     (content-type;host;user-agent;x-project-id;x-sdk-date signed, ~200-byte JSON body):
//     key read, SK unseal, canonical request, two SHA-256 and one HMAC, per second.
// Rate limits are set out of reach so that the figures measure the work, not the buckets.
// One thread. Ends with: token_issue_per_s=<a> token_verify_per_s=<b> aksk_verify_per_s=<c>
// token_verify_us=<d> aksk_verify_us=<e>.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "auth/auth_service.h"
#include "auth/crypto.h"
#include "auth/signer.h"
#include "bench.h"
#include "store/kv.h"

namespace {

using Clock = std::chrono::steady_clock;

double Arg(const std::vector<std::string>& args, const std::string& name, double def) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return std::atof(args[i + 1].c_str());
  }
  return def;
}

std::string StrArg(const std::vector<std::string>& args, const std::string& name,
                   const std::string& def) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  return def;
}

std::string SdkDateNow() { return iss::auth::SdkDate(std::time(nullptr)); }

// Calls `fn` for about `seconds`; returns calls per second, or -1 when one failed.
double Rate(double seconds, const std::function<bool()>& fn) {
  const auto start = Clock::now();
  long n = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    for (int i = 0; i < 16; ++i) {
      if (!fn()) return -1;
      ++n;
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

ISS_BENCH_COMMAND(auth, "token issue / token verify / AK/SK verify cost (--seconds S)")
(const std::vector<std::string>& args) {
  namespace auth = iss::auth;
  const double seconds = Arg(args, "--seconds", 2.0);
  const std::string dir = StrArg(args, "--dir", "/tmp/iss_auth_bench_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto db = iss::store::Database::Open(dir + "/db", {});
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  auth::AuthOptions options;  // no rate limits in auth (they are the HTTP pipeline's)
  auto service = auth::OpenAuth(options, db->get(), dir);
  if (!service.ok()) {
    std::fprintf(stderr, "auth: %s\n", service.status().ToString().c_str());
    return 1;
  }
  auto id = (*service)->Bootstrap();
  if (!id.ok()) {
    std::fprintf(stderr, "bootstrap: %s\n", id.status().ToString().c_str());
    return 1;
  }

  auth::TokenRequest login;
  login.user_name = id->user;
  login.password = id->password;
  login.domain_name = id->domain;
  login.project_name = id->project_name;
  auto grant = (*service)->IssueToken(login);
  if (!grant.ok()) {
    std::fprintf(stderr, "token: %s\n", grant.status().ToString().c_str());
    return 1;
  }
  const double issue = Rate(seconds, [&] { return (*service)->IssueToken(login).ok(); });

  const std::string path = "/v1/" + id->project_id + "/service/bench-instance/image/search";
  auth::RequestFacts with_token;
  with_token.method = "POST";
  with_token.raw_path = path;
  with_token.remote_addr = "127.0.0.1";
  with_token.headers = {{"Host", "127.0.0.1:8080"},
                        {"Content-Type", "application/json;charset=utf-8"},
                        {"X-Auth-Token", grant->token}};
  const double token =
      Rate(seconds, [&] { return (*service)->Authenticate(with_token, id->project_id).ok(); });

  const std::string body =
      "{\"url\": \"http://example.com/images/cat.jpg\", \"path\": "
      "\"http://example.com/images/cat.jpg\", \"limit\": 10, \"offset\": 0, \"tags\": "
      "{\"category\": \"animals\"}}";
  auth::RequestFacts signed_req;
  signed_req.method = "POST";
  signed_req.raw_path = path;
  signed_req.remote_addr = "127.0.0.1";
  signed_req.body = body;
  signed_req.headers = {{"Host", "127.0.0.1:8080"},
                        {"Content-Type", "application/json;charset=utf-8"},
                        {"User-Agent", "huaweicloud-usdk-python/3.0"},
                        {"X-Project-Id", id->project_id},
                        {"X-Sdk-Date", SdkDateNow()}};
  const std::string signed_headers = "content-type;host;user-agent;x-project-id;x-sdk-date";
  std::vector<std::string> names = {"content-type", "host", "user-agent", "x-project-id",
                                    "x-sdk-date"};
  const std::string canonical = auth::CanonicalRequest("POST", path, "", signed_req.headers, names,
                                                       signed_headers, auth::Sha256Hex(body));
  const std::string signature =
      auth::Sign(id->sk, auth::StringToSign(signed_req.headers.back().second, canonical));
  signed_req.headers.emplace_back("Authorization", "SDK-HMAC-SHA256 Access=" + id->ak +
                                                       ", SignedHeaders=" + signed_headers +
                                                       ", Signature=" + signature);
  const double aksk =
      Rate(seconds, [&] { return (*service)->Authenticate(signed_req, id->project_id).ok(); });

  service->reset();
  db->reset();
  std::filesystem::remove_all(dir);
  if (issue < 0 || token < 0 || aksk < 0) {
    std::fprintf(stderr, "a request was refused during the run\n");
    return 1;
  }
  std::printf(
      "token_issue_per_s=%.1f token_verify_per_s=%.0f aksk_verify_per_s=%.0f "
      "token_verify_us=%.2f aksk_verify_us=%.2f\n",
      issue, token, aksk, 1e6 / token, 1e6 / aksk);
  return 0;
}
