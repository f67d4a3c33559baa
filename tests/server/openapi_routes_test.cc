// docs/openapi.json against the real route table, both ways. The server is started as main
// starts it (LoadOptions, Server::Start, auth on: every route is registered, IAM
// included), and its router's routes are compared with the served document: every route
// is documented (method and pattern) with its auth policy and security, and every
// documented operation is a route. A failure names each route to add or remove.
//
// Static files of the web console (under /console/, and "/", which redirects there) are
// pages, not an API: excluded here by prefix (kUndocumentedPrefixes); the console's API
// calls (/v1/..., /admin/v1/...) are documented.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/http/router.h"
#include "api/openapi/openapi.h"
#include "server/options.h"
#include "server/server.h"

namespace iss::server {
namespace {

using nlohmann::json;

constexpr const char* kUndocumentedPrefixes[] = {"/console/"};
constexpr const char* kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

bool Undocumented(const std::string& pattern) {
  if (pattern == "/console" || pattern == "/") return true;  // "/" redirects to the console
  for (const char* p : kUndocumentedPrefixes) {
    if (pattern.rfind(p, 0) == 0) return true;
  }
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string PolicyName(api::AuthPolicy p) {
  switch (p) {
    case api::AuthPolicy::kPublic:
      return "public";
    case api::AuthPolicy::kProject:
      return "project";
    case api::AuthPolicy::kOperator:
      return "operator";
    case api::AuthPolicy::kIdentity:
      return "identity";
  }
  return "?";
}

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    doc_ = new json(json::parse(api::openapi::Document(), nullptr, /*allow_exceptions=*/false));
    dir_ = new std::string(testing::TempDir() + "openapi_routes_" + std::to_string(getpid()));
    server_ = Start(*dir_ + "/on", {}).release();  // auth on, the default
  }
  static void TearDownTestSuite() {
    delete server_;
    delete doc_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A server started as main starts one, with `flags` added; nullptr when it fails.
  static std::unique_ptr<Server> Start(const std::string& data_dir,
                                       std::vector<const char*> flags) {
    std::vector<const char*> argv = {"imagesearchd", "--data-dir", data_dir.c_str(), "--listen",
                                     "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    absl::StatusOr<ServerOptions> options = LoadOptions(int(argv.size()), argv.data());
    EXPECT_TRUE(options.ok()) << options.status();
    if (!options.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(*options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the server did not start";
    ASSERT_FALSE(doc_->is_discarded()) << "docs/openapi.json is not JSON";
  }

  // The documented operation of a route, or nullptr.
  static const json* Operation(const api::Route& r) {
    const json& paths = (*doc_)["paths"];
    auto path = paths.find(r.pattern);
    if (path == paths.end()) return nullptr;
    auto op = path->find(Lower(r.method));
    return op == path->end() ? nullptr : &*op;
  }

  static inline Server* server_ = nullptr;
  static inline json* doc_ = nullptr;
  static inline std::string* dir_ = nullptr;
};

TEST_F(OpenApiRoutesTest, TheServedDocumentIsDocsOpenapiJson) {
  EXPECT_EQ((*doc_)["openapi"].get<std::string>().substr(0, 2), "3.");
  EXPECT_EQ((*doc_)["info"]["version"], ISS_VERSION) << "info.version is the project's version";
  std::ifstream f(std::string(ISS_SOURCE_DIR) + "/docs/openapi.json", std::ios::binary);
  std::stringstream on_disk;
  on_disk << f.rdbuf();
  EXPECT_EQ(on_disk.str(), api::openapi::Document())
      << "the embedded document is stale: rebuild (src/api/openapi/embed.cmake)";
}

TEST_F(OpenApiRoutesTest, EveryRegisteredRouteIsDocumented) {
  std::string missing;
  for (const api::Route& r : server_->router().routes()) {
    if (Undocumented(r.pattern) || Operation(r) != nullptr) continue;
    missing += "\n  " + r.method + " " + r.pattern + " (auth " + PolicyName(r.auth) + ")";
  }
  EXPECT_TRUE(missing.empty()) << "routes the server registers that docs/openapi.json does "
                                  "not document (add each under \"paths\"):"
                               << missing;
}

TEST_F(OpenApiRoutesTest, EveryDocumentedOperationIsARoute) {
  std::set<std::string> routes;
  for (const api::Route& r : server_->router().routes()) {
    routes.insert(Lower(r.method) + " " + r.pattern);
  }
  std::string extra;
  for (const auto& [path, item] : (*doc_)["paths"].items()) {
    for (const char* m : kMethods) {
      if (item.contains(m) && !routes.count(std::string(m) + " " + path)) {
        std::string method = m;
        for (char& c : method) c = char(std::toupper(static_cast<unsigned char>(c)));
        extra += "\n  " + method + " " + path;
      }
    }
  }
  EXPECT_TRUE(extra.empty()) << "operations docs/openapi.json documents that the server does "
                                "not register (remove them, or register the route):"
                             << extra;
}

// info.description says so: without authentication the routes documented `x-auth-only`
// (IAM's /v3/... and the operator API's users, keys and projects) are not served, every
// other route is.
TEST_F(OpenApiRoutesTest, WithAuthOffOnlyTheIamRoutesAreMissing) {
  std::unique_ptr<Server> off = Start(*dir_ + "/off", {"--auth-enabled", "false"});
  ASSERT_NE(off, nullptr);
  std::set<std::string> with, without;
  for (const api::Route& r : server_->router().routes()) {
    const json* op = Operation(r);
    const bool auth_only = op != nullptr && op->value("x-auth-only", false);
    if (!auth_only) with.insert(r.method + " " + r.pattern);
  }
  for (const api::Route& r : off->router().routes()) without.insert(r.method + " " + r.pattern);
  EXPECT_EQ(with, without);
}

// x-auth-policy is the route's policy; a route that needs credentials asks for the token or
// the signature and lists their refusals; a public one asks for neither.
TEST_F(OpenApiRoutesTest, SecurityIsTheRoutesAuthPolicy) {
  const json credentials = json::parse(R"([{"iamToken": []}, {"akSk": []}])");
  for (const api::Route& r : server_->router().routes()) {
    const json* op = Operation(r);
    if (op == nullptr) continue;  // reported above
    const std::string where = r.method + " " + r.pattern;
    const std::string policy = PolicyName(r.auth);
    EXPECT_EQ(op->value("x-auth-policy", ""), policy) << where;
    ASSERT_TRUE(op->contains("security") && (*op)["security"].is_array()) << where;
    const json& responses = (*op)["responses"];
    if (r.auth == api::AuthPolicy::kPublic) {
      for (const json& req : (*op)["security"]) {
        EXPECT_FALSE(req.contains("iamToken") || req.contains("akSk")) << where;
      }
      continue;
    }
    EXPECT_EQ((*op)["security"], credentials) << where;
    EXPECT_TRUE(responses.contains("401")) << where << ": no 401 documented";
    EXPECT_TRUE(responses.contains("429")) << where << ": no 429 documented";
    if (r.auth == api::AuthPolicy::kProject || r.auth == api::AuthPolicy::kOperator) {
      EXPECT_TRUE(responses.contains("403")) << where << ": no 403 documented";
    }
  }
}

}  // namespace
}  // namespace iss::server
