// The request pipeline with the real v1 routes: every /v1/{project_id}/... request is
// authenticated first, with the raw request facts, and failures map to the gateway's
// answers; rate limits by address and by credential; operator routes; a handler that
// throws; requests no route handles.
#include "api/http/pipeline.h"

#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>

#include "api/http/router.h"
#include "api/v1/errors.h"
#include "api/v1/routes.h"
#include "auth/authenticator.h"
#include "common/status.h"

namespace iss::api {
namespace {

// Refuses everything with a fixed reason and remembers what it was shown.
class RefusingAuthenticator : public auth::Authenticator {
 public:
  explicit RefusingAuthenticator(Reason reason) : reason_(reason) {}
  absl::StatusOr<auth::Principal> Authenticate(const auth::RequestFacts& facts,
                                               std::string_view project_id) const override {
    std::lock_guard<std::mutex> l(mu_);
    last_ = facts;
    body_ = std::string(facts.body);
    project_ = std::string(project_id);
    return Fail(reason_);
  }
  Reason reason_;
  mutable std::mutex mu_;
  mutable auth::RequestFacts last_;
  mutable std::string body_, project_;
};

// Lets everyone in as the credential named by the X-Who header ("op:..." is an operator).
class NamingAuthenticator : public auth::Authenticator {
 public:
  absl::StatusOr<auth::Principal> Authenticate(const auth::RequestFacts& facts,
                                               std::string_view project_id) const override {
    return Who(facts);
  }
  absl::StatusOr<auth::Principal> AuthenticateIdentity(
      const auth::RequestFacts& facts) const override {
    return Who(facts);
  }
  static auth::Principal Who(const auth::RequestFacts& facts) {
    auth::Principal p;
    for (const auto& [k, v] : facts.headers) {
      if (k == "X-Who") p.credential = v;
    }
    p.is_operator = p.credential.rfind("op:", 0) == 0;
    return p;
  }
};

PipelineOptions Options() { return PipelineOptions{.default_errors = v1::RenderDefaultError}; }

HttpResponse Send(const Pipeline& pipeline, const HttpRequest& req) {
  return pipeline.Handle(req, pipeline.Lookup(req.method, req.path));
}

HttpRequest Get(std::string path, std::string who = "") {
  HttpRequest req;
  req.method = "GET";
  req.path = std::move(path);
  req.remote_addr = "127.0.0.1";
  if (!who.empty()) req.headers = {{"X-Who", who}};
  return req;
}

TEST(PipelineTest, AuthFailuresUseTheGatewayCodesBeforeAnythingElse) {
  for (auto [reason, code, status] :
       {std::tuple<Reason, std::string, int>{Reason::kUnauthenticated, "APIG.0301", 401},
        {Reason::kPermissionDenied, "APIG.0302", 403},
        {Reason::kRateLimited, "APIG.0308", 429}}) {
    RefusingAuthenticator auth(reason);
    Router router;
    // No engine: a refused request must never reach it.
    v1::RegisterRoutes(&router, nullptr);
    Pipeline pipeline(&router, &auth, Options());
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/proj%31/inst/image/search";
    req.target = req.path + "?a=b";
    req.query = "a=b";
    req.body = "this is not even JSON";
    req.headers = {{"X-Auth-Token", "t"}, {"Host", "h"}};
    req.remote_addr = "127.0.0.1";
    HttpResponse r = Send(pipeline, req);
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

TEST(PipelineTest, EveryV1OperationIsAuthenticated) {
  RefusingAuthenticator auth(Reason::kUnauthenticated);
  Router router;
  v1::RegisterRoutes(&router, nullptr);
  Pipeline pipeline(&router, &auth, Options());
  const std::pair<const char*, const char*> ops[] = {
      {"POST", "/v1/p/service"},       {"GET", "/v1/p/service/x"},
      {"DELETE", "/v1/p/service/x"},   {"POST", "/v1/p/x/image"},
      {"DELETE", "/v1/p/x/image"},     {"PUT", "/v1/p/x/image"},
      {"POST", "/v1/p/x/image/check"}, {"POST", "/v1/p/x/image/search"},
      {"GET", "/v1/p/x/index"}};
  for (auto [method, path] : ops) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = "{}";
    EXPECT_EQ(Send(pipeline, req).status, 401) << method << " " << path;
  }
  for (const Route& r : router.routes()) EXPECT_EQ(r.auth, AuthPolicy::kProject) << r.pattern;
}

TEST(PipelineTest, UnknownPathIs404AndOtherMethodIsIS0010) {
  Router router;
  router.Add("GET", "/x", [](const Call&) { return HttpResponse{}; });
  Pipeline pipeline(&router, nullptr, Options());
  HttpResponse r = Send(pipeline, Get("/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("APIG.0101"), std::string::npos);
  HttpRequest post = Get("/x");
  post.method = "POST";
  r = Send(pipeline, post);
  EXPECT_EQ(r.status, 400);  // the reference's IS.0010 "The request method is not allowed."
  EXPECT_NE(r.body.find("IS.0010"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("method not allowed"), std::string::npos) << r.body;
}

Route Counted(AuthPolicy policy, std::string pattern) {
  Route r;
  r.method = "GET";
  r.pattern = std::move(pattern);
  r.auth = policy;
  r.handler = [](const Call& c) {
    HttpResponse resp;
    resp.body = c.principal ? c.principal->credential : "(nobody)";
    return resp;
  };
  r.errors = [](const absl::Status& s) { return v1::RenderError(s); };
  return r;
}

TEST(PipelineTest, RateLimitsByAddressThenByCredential) {
  NamingAuthenticator auth;
  Router router;
  router.Add(Counted(AuthPolicy::kProject, "/v1/{project_id}/x"));
  PipelineOptions o = Options();
  o.address_limit = {.rate = 0.001, .burst = 4};
  o.credential_limit = {.rate = 0.001, .burst = 2};
  Pipeline pipeline(&router, &auth, o);
  // Two requests of credential a, then a's bucket is empty (the third still took an
  // address token); b passes once more, then the address is out too.
  EXPECT_EQ(Send(pipeline, Get("/v1/p/x", "a")).body, "a");
  EXPECT_EQ(Send(pipeline, Get("/v1/p/x", "a")).body, "a");
  HttpResponse limited = Send(pipeline, Get("/v1/p/x", "a"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.body.find("APIG.0308"), std::string::npos);
  EXPECT_EQ(Send(pipeline, Get("/v1/p/x", "b")).body, "b");
  EXPECT_EQ(Send(pipeline, Get("/v1/p/x", "b")).status, 429);  // address: 4 taken
  HttpRequest other = Get("/v1/p/x", "b");
  other.remote_addr = "10.0.0.2";
  EXPECT_EQ(Send(pipeline, other).body, "b");
}

TEST(PipelineTest, PublicRoutesAreNotLimitedOrAuthenticated) {
  RefusingAuthenticator auth(Reason::kUnauthenticated);
  Router router;
  router.Add(Counted(AuthPolicy::kPublic, "/health"));
  PipelineOptions o = Options();
  o.address_limit = {.rate = 0.001, .burst = 1};
  Pipeline pipeline(&router, &auth, o);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Send(pipeline, Get("/health")).body, "(nobody)");
}

TEST(PipelineTest, OperatorRoutesNeedAnOperator) {
  NamingAuthenticator auth;
  Router router;
  router.Add(Counted(AuthPolicy::kOperator, "/admin/v1/x"));
  Pipeline pipeline(&router, &auth, Options());
  HttpResponse r = Send(pipeline, Get("/admin/v1/x", "user:1"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("APIG.0302"), std::string::npos);
  EXPECT_EQ(Send(pipeline, Get("/admin/v1/x", "op:1")).body, "op:1");
  // An authenticator without the identity-only mode refuses operator routes.
  RefusingAuthenticator project_only(Reason::kUnauthenticated);
  Pipeline strict(&router, &project_only, Options());
  EXPECT_EQ(Send(strict, Get("/admin/v1/x", "op:1")).status, 401);
}

TEST(PipelineTest, AHandlerThatThrowsAnswersAnInternalError) {
  Router router;
  Route r = Counted(AuthPolicy::kPublic, "/boom");
  r.handler = [](const Call&) -> HttpResponse { throw std::runtime_error("boom"); };
  router.Add(r);
  Pipeline pipeline(&router, nullptr, Options());
  HttpResponse resp = Send(pipeline, Get("/boom"));
  EXPECT_EQ(resp.status, 400);
  EXPECT_NE(resp.body.find("IS.0009"), std::string::npos) << resp.body;
}

}  // namespace
}  // namespace iss::api
