// Identities, tokens and signatures on a real database in a temp dir, under a manual clock.
#include "auth/auth_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "auth/crypto.h"
#include "auth/signer.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/kv.h"

namespace iss {
// Failed expectations print the reason's name.
void PrintTo(Reason reason, std::ostream* os) { *os << ReasonName(reason); }
}  // namespace iss

namespace iss::auth {
namespace {

// 2026-01-01T12:00:00Z.
constexpr int64_t kStartS = 1767268800;

// Time that moves only when a test moves it.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicNs() const override { return now_ms_.load() * 1000000; }
  void SetS(int64_t now_s) { now_ms_.store(now_s * 1000); }

 private:
  std::atomic<int64_t> now_ms_;
};

void SetHeader(RequestFacts& f, const std::string& name, const std::string& value) {
  for (auto& [k, v] : f.headers) {
    if (k == name) v = value;
  }
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
    AuthOptions options;
    options.clock = &clock_;
    auto a = OpenAuth(options, db_.get(), dir_);
    ASSERT_TRUE(a.ok()) << a.status();
    auth_ = std::move(*a);
  }
  store::Kv* Records() {
    auto kv = db_->Namespace("auth");
    EXPECT_TRUE(kv.ok()) << kv.status();
    return kv.ok() ? *kv : nullptr;
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
  // A POST signed with `ak`/`sk` now (by clock_), as the official SDKs sign it; the body is
  // body_, `extra` headers are signed too.
  RequestFacts SignedFacts(const std::string& ak, const std::string& sk, const std::string& path,
                           const Headers& extra = {}) {
    const std::string date = SdkDate(clock_.NowS());
    Headers headers = {
        {"Content-Type", "application/json"}, {"Host", "localhost:8080"}, {"X-Sdk-Date", date}};
    std::vector<std::string> names = {"content-type", "host", "x-sdk-date"};
    for (const auto& [k, v] : extra) {
      headers.emplace_back(k, v);
      std::string lower = k;
      for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
      names.push_back(lower);
    }
    std::sort(names.begin(), names.end());
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ";") + n;
    const std::string cr =
        CanonicalRequest("POST", path, "", headers, names, list, Sha256Hex(body_));
    headers.emplace_back("Authorization", "SDK-HMAC-SHA256 Access=" + ak +
                                              ", SignedHeaders=" + list +
                                              ", Signature=" + Sign(sk, StringToSign(date, cr)));
    RequestFacts f;
    f.method = "POST";
    f.raw_path = path;
    f.headers = headers;
    f.body = body_;
    f.remote_addr = "127.0.0.1";
    return f;
  }

  FakeClock clock_{kStartS * 1000};
  const std::string body_ = R"({"path": "a.jpg"})";
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
  auto old = auth_->MintToken(grant->user_id, id->project_id, kStartS - 90000, kStartS - 3600);
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
  // Deletion ends it. The last operator cannot be deleted (nobody could administer the
  // server any more), nor demoted; with a second operator it can.
  EXPECT_EQ(ReasonOf(auth_->DeleteUser("admin", "admin")), Reason::kInvalidArgument);
  EXPECT_EQ(ReasonOf(auth_->SetOperator("admin", "admin", false)), Reason::kInvalidArgument);
  EXPECT_TRUE(auth_->Authenticate(TokenRequestFacts(fresh->token), id->project_id).ok());
  ASSERT_TRUE(auth_->CreateUser("admin", "second", "second password", /*is_operator=*/true).ok());
  ASSERT_TRUE(auth_->DeleteUser("admin", "admin").ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(TokenRequestFacts(fresh->token), id->project_id).status()),
            Reason::kUnauthenticated);
}

TEST_F(AuthServiceTest, SignedRequestsVerifyAndTamperingIsRefused) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok());
  const std::string path = "/v1/" + id->project_id + "/inst/image/check";
  RequestFacts f = SignedFacts(id->ak, id->sk, path);
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
    SetHeader(tampered, "X-Sdk-Date", bad_date);
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

// Headers only (RequestFacts::body_pending, before the server reads a large body): key,
// date and signed headers are checked, and the signature too when X-Sdk-Content-Sha256
// carries the body's hash; a signature over the body's own hash waits for the full check.
TEST_F(AuthServiceTest, SignedRequestsAreCheckedFromTheirHeadersBeforeTheBody) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok());
  const std::string path = "/v1/" + id->project_id + "/inst/image/search";
  auto pending = [](RequestFacts f) {
    f.body = {};
    f.body_pending = true;
    return f;
  };
  auto forge = [](RequestFacts f) {
    for (auto& [k, v] : f.headers) {
      if (k == "Authorization") v.back() = v.back() == '0' ? '1' : '0';
    }
    return f;
  };
  const RequestFacts plain = SignedFacts(id->ak, id->sk, path);
  EXPECT_TRUE(auth_->Authenticate(pending(plain), id->project_id).ok());
  EXPECT_TRUE(auth_->Authenticate(pending(forge(plain)), id->project_id).ok());  // deferred
  EXPECT_EQ(ReasonOf(auth_->Authenticate(forge(plain), id->project_id).status()),
            Reason::kUnauthenticated);  // ... and refused by the full check
  RequestFacts stale = plain;
  SetHeader(stale, "X-Sdk-Date", "20000101T000000Z");
  EXPECT_EQ(ReasonOf(auth_->Authenticate(pending(stale), id->project_id).status()),
            Reason::kUnauthenticated);
  const RequestFacts unknown = SignedFacts("NOSUCHKEY0000000000", id->sk, path);
  EXPECT_EQ(ReasonOf(auth_->Authenticate(pending(unknown), id->project_id).status()),
            Reason::kUnauthenticated);

  const RequestFacts hashed =
      SignedFacts(id->ak, id->sk, path, {{"X-Sdk-Content-Sha256", Sha256Hex(body_)}});
  EXPECT_TRUE(auth_->Authenticate(pending(hashed), id->project_id).ok());
  EXPECT_TRUE(auth_->Authenticate(hashed, id->project_id).ok());
  EXPECT_EQ(ReasonOf(auth_->Authenticate(pending(forge(hashed)), id->project_id).status()),
            Reason::kUnauthenticated);  // the signature needs no body: checked at once
  RequestFacts other_body = hashed;
  const std::string other = R"({"path": "b.jpg"})";
  other_body.body = other;
  EXPECT_EQ(ReasonOf(auth_->Authenticate(other_body, id->project_id).status()),
            Reason::kUnauthenticated);  // the body still has to match once it is here
}

TEST_F(AuthServiceTest, TokenExpiryFollowsTheInjectedClock) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  auto grant = auth_->IssueToken(Login(id->password));
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->issued_at, kStartS);
  EXPECT_EQ(grant->expires_at, kStartS + 24 * 3600);
  const RequestFacts f = TokenRequestFacts(grant->token);
  clock_.SetS(grant->expires_at - 1);  // the last second it is valid
  EXPECT_TRUE(auth_->Authenticate(f, id->project_id).ok());
  clock_.SetS(grant->expires_at);  // expired at exp itself
  absl::Status expired = auth_->Authenticate(f, id->project_id).status();
  EXPECT_EQ(ReasonOf(expired), Reason::kUnauthenticated);
  EXPECT_EQ(expired.message(), "(the token has expired)");
  EXPECT_EQ(ReasonOf(auth_->AuthenticateIdentity(f).status()), Reason::kUnauthenticated);
}

TEST_F(AuthServiceTest, SdkDateSkewFollowsTheInjectedClock) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  const RequestFacts f = SignedFacts(id->ak, id->sk, "/v1/" + id->project_id + "/inst/image");
  for (int64_t skew : {-900, 0, 900}) {  // 15 minutes either way: accepted
    clock_.SetS(kStartS + skew);
    EXPECT_TRUE(auth_->Authenticate(f, id->project_id).ok()) << skew;
  }
  for (int64_t skew : {-901, 901}) {
    clock_.SetS(kStartS + skew);
    absl::Status s = auth_->Authenticate(f, id->project_id).status();
    EXPECT_EQ(ReasonOf(s), Reason::kUnauthenticated) << skew;
    EXPECT_EQ(s.message(), "(X-Sdk-Date is more than 15 minutes from the server's clock)");
  }
}

TEST_F(AuthServiceTest, KeysRecordTheirCreationTimeFromTheClock) {
  ASSERT_TRUE(auth_->Bootstrap().ok());
  clock_.SetS(kStartS + 42);
  auto key = auth_->CreateKey("admin", "admin");
  ASSERT_TRUE(key.ok()) << key.status();
  auto stored = Records()->Get("key/" + key->ak);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  nlohmann::json record = nlohmann::json::parse(**stored);
  EXPECT_EQ(record["created"], kStartS + 42);
  EXPECT_EQ(record["user_id"], key->user_id);
}

// The token format is a wire contract: tokens minted before an upgrade must still verify.
TEST_F(AuthServiceTest, TokensAreStableForAFixedServerKey) {
  auth_.reset();
  const std::string key_path = dir_ + "/server.key";
  std::filesystem::remove(key_path);
  {
    std::ofstream out(key_path, std::ios::binary);
    out << std::string(32, '\x2a');
  }
  std::filesystem::permissions(
      key_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  Reopen();
  ASSERT_TRUE(Records()
                  ->Put("user/u1", R"({"domain_id":"d1","gen":3,"id":"u1","name":"alice",)"
                                   R"("projects":["p1"]})")
                  .ok());
  auto token = auth_->MintToken("u1", "p1", kStartS - 60, kStartS + 60);
  ASSERT_TRUE(token.ok()) << token.status();
  // Computed apart (Python hmac/hashlib/base64): HMAC-SHA256 under
  // HMAC-SHA256(server key, "imagesearch token key") over the base64url JSON payload.
  EXPECT_EQ(*token,
            "ISS1.eyJleHAiOjE3NjcyNjg4NjAsImciOjMsImlhdCI6MTc2NzI2ODc0MCwicCI6InAxIiwidSI6InUxIn0."
            "2cxUe5_W5epD_m_32dW3TkrlIYsGjww4Ya1Ex7Q9X18");
  auto who = auth_->Authenticate(TokenRequestFacts(*token), "p1");
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->user_name, "alice");
  EXPECT_EQ(who->credential, "token:u1");
}

// The records are the data dir's format: exact bytes for those without secrets, exact
// field sets for the others.
TEST_F(AuthServiceTest, StoredRecordsKeepTheirFormat) {
  clock_.SetS(kStartS + 7);
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  std::map<std::string, std::string> records;
  ASSERT_TRUE(Records()
                  ->Scan("",
                         [&](std::string_view k, std::string_view v) {
                           records.emplace(std::string(k), std::string(v));
                           return true;
                         })
                  .ok());
  const std::string did = records["domain_by_name/admin"];
  const std::string uid = records["user_by_name/" + did + "/admin"];
  ASSERT_EQ(did.size(), 32u);
  ASSERT_EQ(uid.size(), 32u);
  EXPECT_EQ(records["project_by_name/" + did + "/default"], id->project_id);
  EXPECT_EQ(records["domain/" + did], R"({"id":")" + did + R"(","name":"admin"})");
  EXPECT_EQ(records["project/" + id->project_id],
            R"({"domain_id":")" + did + R"(","id":")" + id->project_id + R"(","name":"default"})");
  auto keys_of = [](const std::string& text) {
    std::vector<std::string> keys;
    const nlohmann::json record = nlohmann::json::parse(text);
    for (const auto& [k, v] : record.items()) keys.push_back(k);
    return keys;
  };
  using Keys = std::vector<std::string>;
  const nlohmann::json user = nlohmann::json::parse(records["user/" + uid]);
  EXPECT_EQ(keys_of(records["user/" + uid]),
            (Keys{"domain_id", "gen", "hash", "id", "name", "operator", "projects"}));
  EXPECT_EQ(user["operator"], true);
  EXPECT_EQ(user["gen"], 1);
  EXPECT_EQ(user["projects"], nlohmann::json::array({id->project_id}));
  EXPECT_EQ(user["hash"].get<std::string>().rfind("$argon2id$", 0), 0u);
  const nlohmann::json key = nlohmann::json::parse(records["key/" + id->ak]);
  EXPECT_EQ(keys_of(records["key/" + id->ak]), (Keys{"ak", "created", "sk", "user_id"}));
  EXPECT_EQ(key["created"], kStartS + 7);
  EXPECT_EQ(key["user_id"], uid);
  EXPECT_EQ(keys_of(records["bootstrap"]),
            (Keys{"ak", "domain", "password", "project_id", "project_name", "user"}));
  EXPECT_EQ(records.size(), 8u);  // nothing else
  // Users other than the bootstrap one keep the record they always had.
  auto bob = auth_->CreateUser("admin", "bob", "bob's password");
  ASSERT_TRUE(bob.ok()) << bob.status();
  auto bob_record = Records()->Get("user/" + *bob);
  ASSERT_TRUE(bob_record.ok() && bob_record->has_value());
  EXPECT_EQ(keys_of(**bob_record), (Keys{"domain_id", "gen", "hash", "id", "name", "projects"}));
}

TEST_F(AuthServiceTest, TheBootstrapUserIsAnOperatorAndOthersAreNot) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  auto grant = auth_->IssueToken(Login(id->password));
  ASSERT_TRUE(grant.ok()) << grant.status();
  auto admin = auth_->Authenticate(TokenRequestFacts(grant->token), id->project_id);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_TRUE(admin->is_operator);
  auto signed_admin = auth_->Authenticate(
      SignedFacts(id->ak, id->sk, "/v1/" + id->project_id + "/i/image"), id->project_id);
  ASSERT_TRUE(signed_admin.ok()) << signed_admin.status();
  EXPECT_TRUE(signed_admin->is_operator);

  ASSERT_TRUE(auth_->CreateUser("admin", "bob", "bob's password").ok());
  ASSERT_TRUE(auth_->Grant("admin", "bob", "default").ok());
  auto bob_key = auth_->CreateKey("admin", "bob");
  ASSERT_TRUE(bob_key.ok()) << bob_key.status();
  const RequestFacts bob =
      SignedFacts(bob_key->ak, bob_key->sk, "/v1/" + id->project_id + "/i/image");
  auto plain = auth_->Authenticate(bob, id->project_id);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->is_operator);
  // Made an operator (the cached record is dropped), and back.
  ASSERT_TRUE(auth_->SetOperator("admin", "bob", true).ok());
  EXPECT_TRUE(auth_->Authenticate(bob, id->project_id)->is_operator);
  ASSERT_TRUE(auth_->SetOperator("admin", "bob", false).ok());
  EXPECT_FALSE(auth_->Authenticate(bob, id->project_id)->is_operator);
  EXPECT_EQ(ReasonOf(auth_->SetOperator("admin", "nobody", true)), Reason::kIdentityNotFound);
}

TEST_F(AuthServiceTest, OpeningAnOlderDataDirMakesItsBootstrapUserAnOperator) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(auth_->CreateUser("admin", "bob", "bob's password").ok());
  ASSERT_TRUE(auth_->Grant("admin", "bob", "default").ok());
  auto grant = auth_->IssueToken(Login(id->password));
  ASSERT_TRUE(grant.ok()) << grant.status();
  // Rewrite the admin's record as a version before operators wrote it.
  const std::string user_key = "user/" + grant->user_id;
  auto stored = Records()->Get(user_key);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  nlohmann::json old = nlohmann::json::parse(**stored);
  ASSERT_EQ(old.erase("operator"), 1u);
  ASSERT_TRUE(Records()->Put(user_key, old.dump()).ok());

  Reopen();
  auto migrated = Records()->Get(user_key);
  ASSERT_TRUE(migrated.ok() && migrated->has_value());
  nlohmann::json now = nlohmann::json::parse(**migrated);
  EXPECT_EQ(now["operator"], true);
  now.erase("operator");
  EXPECT_EQ(now, old);  // nothing else changed: same hash, generation and projects
  auto who = auth_->Authenticate(TokenRequestFacts(grant->token), id->project_id);
  ASSERT_TRUE(who.ok()) << who.status();  // the token still holds
  EXPECT_TRUE(who->is_operator);
  auto bob = auth_->IssueToken([&] {
    TokenRequest q = Login("bob's password");
    q.user_name = "bob";
    return q;
  }());
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_FALSE(auth_->Authenticate(TokenRequestFacts(bob->token), id->project_id)->is_operator);
  // Idempotent, and a data dir whose bootstrap user was deleted still opens.
  Reopen();
  EXPECT_EQ(*Records()->Get(user_key), *migrated);
  ASSERT_TRUE(auth_->SetOperator("admin", "bob", true).ok());  // not the last operator now
  ASSERT_TRUE(auth_->DeleteUser("admin", "admin").ok());
  Reopen();
  ASSERT_NE(auth_, nullptr);
}

TEST_F(AuthServiceTest, AuthenticateIdentityNeedsNoProject) {
  auto id = auth_->Bootstrap();
  ASSERT_TRUE(id.ok()) << id.status();
  auto grant = auth_->IssueToken(Login(id->password));
  ASSERT_TRUE(grant.ok()) << grant.status();
  // A token, whatever its project.
  auto who = auth_->AuthenticateIdentity(TokenRequestFacts(grant->token));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->user_name, "admin");
  EXPECT_EQ(who->domain_name, "admin");
  EXPECT_EQ(who->credential, "token:" + grant->user_id);
  EXPECT_TRUE(who->project_id.empty());
  EXPECT_TRUE(who->is_operator);
  // A signature without X-Project-Id, and one whose X-Project-Id names another project.
  const std::string path = "/v1/admin/galleries";
  auto signed_who = auth_->AuthenticateIdentity(SignedFacts(id->ak, id->sk, path));
  ASSERT_TRUE(signed_who.ok()) << signed_who.status();
  EXPECT_EQ(signed_who->credential, "ak:" + id->ak);
  EXPECT_TRUE(signed_who->project_id.empty());
  EXPECT_TRUE(signed_who->is_operator);
  EXPECT_TRUE(
      auth_->AuthenticateIdentity(SignedFacts(id->ak, id->sk, path, {{"X-Project-Id", "other"}}))
          .ok());
  // A user who is not an operator authenticates too: deciding is the route's job.
  ASSERT_TRUE(auth_->CreateUser("admin", "bob", "bob's password").ok());
  auto bob_key = auth_->CreateKey("admin", "bob");
  ASSERT_TRUE(bob_key.ok()) << bob_key.status();
  auto bob = auth_->AuthenticateIdentity(SignedFacts(bob_key->ak, bob_key->sk, path));
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_FALSE(bob->is_operator);

  // Everything else is checked as for Authenticate().
  auto refused = [&](const RequestFacts& f) {
    return ReasonOf(auth_->AuthenticateIdentity(f).status());
  };
  RequestFacts none = TokenRequestFacts("");
  none.headers.clear();
  EXPECT_EQ(refused(none), Reason::kUnauthenticated);
  std::string forged = grant->token;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(refused(TokenRequestFacts(forged)), Reason::kUnauthenticated);
  RequestFacts tampered = SignedFacts(id->ak, id->sk, path);
  tampered.raw_path = "/v1/admin/other";
  EXPECT_EQ(refused(tampered), Reason::kUnauthenticated);
  EXPECT_EQ(refused(SignedFacts(id->ak, id->sk, path, {{"X-Domain-Id", "not-the-domain"}})),
            Reason::kUnauthenticated);
  clock_.SetS(grant->expires_at);
  EXPECT_EQ(refused(TokenRequestFacts(grant->token)), Reason::kUnauthenticated);
  clock_.SetS(kStartS);
  ASSERT_TRUE(auth_->SetPassword("admin", "admin", "a new password").ok());
  EXPECT_EQ(refused(TokenRequestFacts(grant->token)), Reason::kUnauthenticated);
}

// An authenticator that knows no identities refuses operator routes.
TEST(AuthenticatorTest, AuthenticateIdentityRefusesByDefault) {
  class ProjectsOnly : public Authenticator {
   public:
    absl::StatusOr<Principal> Authenticate(const RequestFacts&,
                                           std::string_view project_id) const override {
      Principal p;
      p.project_id = std::string(project_id);
      return p;
    }
  } authenticator;
  EXPECT_EQ(ReasonOf(authenticator.AuthenticateIdentity(RequestFacts{}).status()),
            Reason::kUnauthenticated);
}

}  // namespace
}  // namespace iss::auth
