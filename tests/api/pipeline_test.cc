// The auth hook of the v1 routes: every /v1/{project_id}/... request is authenticated
// first, with the raw request facts, and failures map to the gateway's answers.
#include <gtest/gtest.h>

#include <mutex>

#include "api/router.h"
#include "api/v1_routes.h"
#include "auth/authenticator.h"
#include "common/error.h"

namespace iss::api {
namespace {

// Refuses everything with a fixed code and remembers what it was shown.
class RefusingAuthenticator : public auth::Authenticator {
 public:
  explicit RefusingAuthenticator(std::string code) : code_(std::move(code)) {}
  absl::StatusOr<auth::Principal> Authenticate(const auth::RequestFacts& facts,
                                               std::string_view project_id) const override {
    std::lock_guard<std::mutex> l(mu_);
    last_ = facts;
    body_ = std::string(facts.body);
    project_ = std::string(project_id);
    return Error(code_);
  }
  std::string code_;
  mutable std::mutex mu_;
  mutable auth::RequestFacts last_;
  mutable std::string body_, project_;
};

HttpResponse Call(const Router& router, HttpRequest req) {
  Router::Match m = router.Find(req.method, req.path);
  EXPECT_NE(m.handler, nullptr) << req.method << " " << req.path;
  return (*m.handler)(req, m.params);
}

TEST(V1AuthTest, FailuresUseTheGatewayCodesBeforeAnythingElse) {
  for (auto [code, status] :
       {std::pair<std::string, int>{"APIG.0301", 401}, {"APIG.0302", 403}, {"APIG.0308", 429}}) {
    RefusingAuthenticator auth(code);
    Router router;
    // No service: a refused request must never reach it.
    RegisterV1Routes(&router, nullptr, &auth);
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/proj%31/inst/image/search";
    req.target = req.path + "?a=b";
    req.query = "a=b";
    req.body = "this is not even JSON";
    req.headers = {{"X-Auth-Token", "t"}, {"Host", "h"}};
    req.remote_addr = "127.0.0.1";
    HttpResponse r = Call(router, req);
    EXPECT_EQ(r.status, status);
    EXPECT_NE(r.body.find(code), std::string::npos) << r.body;
    bool retry_after = false;
    for (auto& [k, v] : r.headers) retry_after |= (k == "Retry-After");
    EXPECT_EQ(retry_after, code == "APIG.0308");
    EXPECT_EQ(auth.project_, "proj1");  // the decoded project of the URL
    EXPECT_EQ(auth.last_.method, "POST");
    EXPECT_EQ(auth.last_.raw_path, "/v1/proj%31/inst/image/search");  // as received
    EXPECT_EQ(auth.last_.raw_query, "a=b");
    EXPECT_EQ(auth.body_, "this is not even JSON");
    EXPECT_EQ(auth.last_.headers.size(), 2u);
    EXPECT_EQ(auth.last_.remote_addr, "127.0.0.1");
  }
}

TEST(V1AuthTest, EveryOperationIsAuthenticated) {
  RefusingAuthenticator auth("APIG.0301");
  Router router;
  RegisterV1Routes(&router, nullptr, &auth);
  const std::pair<const char*, const char*> ops[] = {
      {"POST", "/v1/p/service"},       {"GET", "/v1/p/service/x"},
      {"DELETE", "/v1/p/service/x"},   {"POST", "/v1/p/x/image"},
      {"DELETE", "/v1/p/x/image"},     {"PUT", "/v1/p/x/image"},
      {"POST", "/v1/p/x/image/check"}, {"POST", "/v1/p/x/image/search"}};
  for (auto [method, path] : ops) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = "{}";
    EXPECT_EQ(Call(router, req).status, 401) << method << " " << path;
  }
}

}  // namespace
}  // namespace iss::api
