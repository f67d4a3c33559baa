// Identities, tokens and signatures on a real database in a temp dir.
#include "auth/auth_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "auth/crypto.h"
#include "auth/signer.h"
#include "common/status.h"
#include "store/kv.h"

namespace iss {
// Failed expectations print the reason's name.
void PrintTo(Reason reason, std::ostream* os) { *os << ReasonName(reason); }
}  // namespace iss

namespace iss::auth {
namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/auth_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
           std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    auth_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    auth_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto a = OpenAuth(AuthOptions{}, db_.get(), dir_);
    ASSERT_TRUE(a.ok()) << a.status();
    auth_ = std::move(*a);
  }
  TokenRequest Login(const std::string& password) {
    TokenRequest q;
    q.user_name = "admin";
    q.password = password;
    q.domain_name = "admin";
    q.project_name = "default";
    return q;
  }
  RequestFacts TokenRequestFacts(const std::string& token) {
    RequestFacts f;
    f.method = "GET";
    f.raw_path = "/v1/p/service/x";
    f.headers = {{"X-Auth-Token", token}};
    f.remote_addr = "127.0.0.1";
    return f;
  }

  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuthService> auth_;
};

TEST_F(AuthServiceTest, BootstrapIsIdempotentAndKeyFileIsPrivate) {
  auto a = auth_->Bootstrap();
  ASSERT_TRUE(a.ok()) << a.status();
  Reopen();
  auto b = auth_->Bootstrap();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->password, b->password);
  EXPECT_EQ(a->ak, b->ak);
  EXPECT_EQ(a->sk, b->sk);
  EXPECT_EQ(a->project_id, b->project_id);
  EXPECT_GE(a->password.size(), 16u);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/server.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuthServiceTest, TokensWorkUntilExpiryPasswordChangeOrDeletion) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(ReasonOf(auth_->IssueToken(Login("wrong password")).status()),
            Reason::kUnauthenticated);
  auto grant = auth_->IssueToken(Login(id->password));
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->expires_at - grant->issued_at, 24 * 3600);
  EXPECT_TRUE(auth_->Authenticate(TokenRequestFacts(grant->token), id->project_id).ok());
  // Another project: refused.
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(grant->token), "other").status()),
            Reason::kPermissionDenied);
  // Forged: one byte changed.
  std::string forged = grant->token;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(forged), id->project_id).status()),
            Reason::kUnauthenticated);
  // Expired.
  auto old = auth_->MintToken(grant->user_id, id->project_id, Now() - 90000, Now() - 3600);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(*old), id->project_id).status()),
            Reason::kUnauthenticated);
  // Survives a restart (same server key).
  Reopen();
  EXPECT_TRUE(auth_->Authenticate(TokenRequestFacts(grant->token), id->project_id).ok());
  // Password change ends it.
  ASSERT_TRUE(auth_->SetPassword("admin", "admin", "a new password").ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(grant->token), id->project_id).status()),
            Reason::kUnauthenticated);
  auto fresh = auth_->IssueToken(Login("a new password"));
  ASSERT_TRUE(fresh.ok());
  // Deletion ends it.
  ASSERT_TRUE(auth_->DeleteUser("admin", "admin").ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(fresh->token), id->project_id).status()),
            Reason::kUnauthenticated);
}

TEST_F(AuthServiceTest, SignedRequestsVerifyAndTamperingIsRefused) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok());
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[20];
  std::strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
  const std::string body = R"({"path": "a.jpg"})";
  const std::string path = "/v1/" + id->project_id + "/inst/image/check";
  Headers headers = {
      {"Content-Type", "application/json"}, {"Host", "localhost:8080"}, {"X-Sdk-Date", date}};
  const std::vector<std::string> signed_headers = {"content-type", "host", "x-sdk-date"};
  std::string cr = CanonicalRequest("POST", path, "", headers, signed_headers,
                                    "content-type;host;x-sdk-date", Sha256Hex(body));
  std::string sig = Sign(id->sk, StringToSign(date, cr));
  headers.emplace_back("Authorization", "SDK-HMAC-SHA256 Access=" + id->ak +
                                            ", SignedHeaders=content-type;host;x-sdk-date, "
                                            "Signature=" +
                                            sig);
  RequestFacts f;
  f.method = "POST";
  f.raw_path = path;
  f.headers = headers;
  f.body = body;
  f.remote_addr = "127.0.0.1";
  auto who = auth_->Authenticate(f, id->project_id);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->user_name, "admin");
  EXPECT_EQ(who->credential, "ak:" + id->ak);

  RequestFacts tampered = f;
  const std::string other_body = R"({"path": "b.jpg"})";
  tampered.body = other_body;
  EXPECT_EQ(ReasonOf(auth_->Authenticate(tampered, id->project_id).status()),
            Reason::kUnauthenticated);
  tampered = f;
  tampered.raw_path = "/v1/" + id->project_id + "/other/image/check";
  EXPECT_EQ(ReasonOf(auth_->Authenticate(tampered, id->project_id).status()),
            Reason::kUnauthenticated);
  tampered = f;
  tampered.raw_query = "x=1";
  EXPECT_EQ(ReasonOf(auth_->Authenticate(tampered, id->project_id).status()),
            Reason::kUnauthenticated);
  EXPECT_EQ(ReasonOf(auth_->Authenticate(f, "another-project").status()),
            Reason::kPermissionDenied);
  // A grant made after the key's records were cached takes effect at once.
  auto second = auth_->CreateProject("admin", "second");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(ReasonOf(auth_->Authenticate(f, *second).status()), Reason::kPermissionDenied);
  ASSERT_TRUE(auth_->Grant("admin", "admin", "second").ok());
  EXPECT_TRUE(auth_->Authenticate(f, *second).ok());
  // Stale or future X-Sdk-Date (outside 15 minutes) and Host left unsigned: refused.
  for (const char* bad_date : {"20000101T000000Z", "29990101T000000Z", "garbage"}) {
    tampered = f;
    for (auto& [k, v] : tampered.headers) {
      if (k == "X-Sdk-Date") v = bad_date;
    }
    EXPECT_EQ(ReasonOf(auth_->Authenticate(tampered, id->project_id).status()),
              Reason::kUnauthenticated)
        << bad_date;
  }
  tampered = f;
  tampered.headers.erase(tampered.headers.begin() + 1);  // Host, which was signed
  EXPECT_EQ(ReasonOf(auth_->Authenticate(tampered, id->project_id).status()),
            Reason::kUnauthenticated);
  ASSERT_TRUE(auth_->DeleteKey(id->ak).ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(f, id->project_id).status()), Reason::kUnauthenticated);
}

}  // namespace
}  // namespace iss::auth
