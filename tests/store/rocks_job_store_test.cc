// store::RocksJobStore on a real RocksDB: records and checkpoints round-trip and survive a
// reopen, List filters by project, Delete removes a job with its checkpoints atomically
// (an injected ENOSPC leaves all of it), and bad ids, names and records are refused.
#include "store/rocks_job_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/rocks_testing.h"
#include "store_test_util.h"
#include "testing/rocks/fault_injection_fs.h"

namespace iss::store {
namespace {

engine::JobRecord Job(const std::string& id, const std::string& project) {
  engine::JobRecord j;
  j.id = id;
  j.project_id = project;
  j.gallery = "g-" + id;
  j.kind = "import";
  j.state = "running";
  j.spec = R"({"bucket":"b","prefix":"photos/\"2024\"\n"})";
  j.progress = R"({"done":12})";
  j.created_ms = 1700000000000;
  j.updated_ms = 1700000000500;
  return j;
}

void ExpectSameJob(const engine::JobRecord& a, const engine::JobRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.project_id, b.project_id);
  EXPECT_EQ(a.gallery, b.gallery);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.spec, b.spec);
  EXPECT_EQ(a.progress, b.progress);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
}

class RocksJobStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::FreshDir(testutil::CurrentTestName()) + "/db";
    Reopen();
  }
  void TearDown() override {
    jobs_.reset();
    db_.reset();
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  void Reopen(std::shared_ptr<rocksdb::FileSystem> fs = nullptr) {
    jobs_.reset();
    db_.reset();
    auto db = fs ? OpenDatabaseForTest(dir_, {}, fs) : Database::Open(dir_, {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    kv_ = *db_->Namespace(kJobsNamespace);
    auto jobs = OpenJobStore(db_.get());
    ASSERT_TRUE(jobs.ok()) << jobs.status();
    jobs_ = *std::move(jobs);
  }
  std::map<std::string, std::string> Checkpoints(const std::string& id,
                                                 const std::string& prefix = "") {
    std::map<std::string, std::string> out;
    absl::Status s =
        jobs_->ScanCheckpoints(id, prefix, [&](std::string_view n, std::string_view v) {
          out.emplace(std::string(n), std::string(v));
          return true;
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
  Kv* kv_ = nullptr;
  std::unique_ptr<engine::JobStore> jobs_;
};

TEST_F(RocksJobStoreTest, RecordsRoundTripAndSurviveReopen) {
  ASSERT_TRUE(jobs_->Put(Job("j1", "p1")).ok());
  EXPECT_FALSE(jobs_->Get("nope")->has_value());
  Reopen();
  auto got = jobs_->Get("j1");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  ExpectSameJob(**got, Job("j1", "p1"));
  engine::JobRecord done = Job("j1", "p1");
  done.state = "done";
  done.progress = R"({"done":40})";
  ASSERT_TRUE(jobs_->Put(done).ok());  // a Put replaces
  ExpectSameJob(**jobs_->Get("j1"), done);
  // The layout: job/<id> -> JSON with the opaque spec as a string.
  auto raw = kv_->Get("job/j1");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_NE((*raw)->find(R"("spec":"{\"bucket\")"), std::string::npos) << **raw;
}

TEST_F(RocksJobStoreTest, ListIsInIdOrderAndFiltersByProject) {
  for (const auto& [id, project] :
       std::vector<std::pair<std::string, std::string>>{{"c", "p1"}, {"a", "p2"}, {"b", "p1"}}) {
    ASSERT_TRUE(jobs_->Put(Job(id, project)).ok());
  }
  auto all = jobs_->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "a");
  EXPECT_EQ((*all)[1].id, "b");
  EXPECT_EQ((*all)[2].id, "c");
  auto p1 = jobs_->List("p1");
  ASSERT_EQ(p1->size(), 2u);
  EXPECT_EQ((*p1)[0].id, "b");
  EXPECT_EQ((*p1)[1].id, "c");
  EXPECT_TRUE(jobs_->List("p3")->empty());
}

TEST_F(RocksJobStoreTest, CheckpointsRoundTripScanByPrefixAndStayWithTheirJob) {
  ASSERT_TRUE(jobs_->Put(Job("a", "p")).ok());
  ASSERT_TRUE(jobs_->Put(Job("ab", "p")).ok());
  ASSERT_TRUE(jobs_->PutCheckpoint("a", "cursor", "photos/0042.jpg").ok());
  ASSERT_TRUE(jobs_->PutCheckpoint("a", "done/0002", std::string("\0\1\xff", 3)).ok());
  ASSERT_TRUE(jobs_->PutCheckpoint("a", "done/0001", "x").ok());
  ASSERT_TRUE(jobs_->PutCheckpoint("ab", "cursor", "other").ok());
  ASSERT_TRUE(jobs_->PutCheckpoint("a", "cursor", "photos/0043.jpg").ok());  // replaces
  Reopen();
  EXPECT_EQ(**jobs_->GetCheckpoint("a", "cursor"), "photos/0043.jpg");
  EXPECT_EQ(**jobs_->GetCheckpoint("a", "done/0002"), std::string("\0\1\xff", 3));
  EXPECT_FALSE(jobs_->GetCheckpoint("a", "missing")->has_value());
  EXPECT_EQ(Checkpoints("a").size(), 3u);
  auto done = Checkpoints("a", "done/");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done.begin()->first, "done/0001");
  EXPECT_EQ(Checkpoints("ab"), (std::map<std::string, std::string>{{"cursor", "other"}}));
  EXPECT_EQ(**kv_->Get("ckpt/a/cursor"), "photos/0043.jpg");
  int seen = 0;
  ASSERT_TRUE(
      jobs_
          ->ScanCheckpoints("a", "", [&](std::string_view, std::string_view) { return ++seen < 2; })
          .ok());
  EXPECT_EQ(seen, 2);
}

TEST_F(RocksJobStoreTest, PutCheckpointsWritesAllInOneBatchOrNone) {
  ASSERT_TRUE(jobs_->Put(Job("a", "p")).ok());
  ASSERT_TRUE(jobs_->PutCheckpoints("a", {{"k/1", "x"}, {"k/2", "y"}}).ok());
  Reopen();
  EXPECT_EQ(Checkpoints("a", "k/"),
            (std::map<std::string, std::string>{{"k/1", "x"}, {"k/2", "y"}}));
  // One bad name refuses the whole batch.
  EXPECT_FALSE(jobs_->PutCheckpoints("a", {{"k/3", "z"}, {"", "w"}}).ok());
  EXPECT_EQ(Checkpoints("a", "k/").size(), 2u);
  EXPECT_TRUE(jobs_->PutCheckpoints("a", {}).ok());
}

TEST_F(RocksJobStoreTest, DeleteRemovesTheJobAndItsCheckpointsOnly) {
  ASSERT_TRUE(jobs_->Put(Job("a", "p")).ok());
  ASSERT_TRUE(jobs_->Put(Job("ab", "p")).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(jobs_->PutCheckpoint("a", "done/" + std::to_string(i), "v").ok());
  }
  ASSERT_TRUE(jobs_->PutCheckpoint("ab", "cursor", "kept").ok());
  ASSERT_TRUE(jobs_->Delete("a").ok());
  EXPECT_FALSE(jobs_->Get("a")->has_value());
  EXPECT_TRUE(Checkpoints("a").empty());
  EXPECT_TRUE(jobs_->Get("ab")->has_value());
  EXPECT_EQ(Checkpoints("ab").size(), 1u);
  EXPECT_TRUE(jobs_->Delete("never-was").ok());
  Reopen();
  EXPECT_EQ(testutil::Dump(*kv_).size(), 2u);  // job/ab and ckpt/ab/cursor
}

TEST_F(RocksJobStoreTest, AFailedDeleteLeavesTheJobWhole) {
  auto fs = std::make_shared<test::FaultInjectionFs>();
  Reopen(fs);
  ASSERT_TRUE(jobs_->Put(Job("a", "p")).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(jobs_->PutCheckpoint("a", "c" + std::to_string(i), "v").ok());
  }
  fs->SetNoSpace(true);
  absl::Status s = jobs_->Delete("a");
  EXPECT_EQ(ReasonOf(s), Reason::kNoSpace) << s;
  fs->SetNoSpace(false);
  Reopen();
  EXPECT_TRUE(jobs_->Get("a")->has_value());
  EXPECT_EQ(Checkpoints("a").size(), 5u);
}

TEST_F(RocksJobStoreTest, BadIdsNamesAndRecordsAreRefused) {
  for (std::string id : {"", "a/b", "/"}) {
    EXPECT_EQ(ReasonOf(jobs_->Put(Job(id, "p"))), Reason::kInvalidArgument) << id;
    EXPECT_EQ(ReasonOf(jobs_->Get(id).status()), Reason::kInvalidArgument) << id;
    EXPECT_EQ(ReasonOf(jobs_->Delete(id)), Reason::kInvalidArgument) << id;
    EXPECT_EQ(ReasonOf(jobs_->PutCheckpoint(id, "n", "v")), Reason::kInvalidArgument) << id;
  }
  EXPECT_EQ(ReasonOf(jobs_->PutCheckpoint("a", "", "v")), Reason::kInvalidArgument);
  EXPECT_EQ(ReasonOf(jobs_->GetCheckpoint("a", "").status()), Reason::kInvalidArgument);
  engine::JobRecord bad = Job("a", "p");
  bad.spec = "\xff\xfe not UTF-8";
  EXPECT_EQ(ReasonOf(jobs_->Put(bad)), Reason::kInvalidArgument);
  EXPECT_FALSE(jobs_->Get("a")->has_value());
}

TEST_F(RocksJobStoreTest, UndecodableRecordsAreKCorrupt) {
  ASSERT_TRUE(jobs_->Put(Job("good", "p")).ok());
  ASSERT_TRUE(kv_->Put("job/bad", "{oops").ok());
  EXPECT_EQ(ReasonOf(jobs_->Get("bad").status()), Reason::kCorrupt);
  auto list = jobs_->List("");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(ReasonOf(list.status()), Reason::kCorrupt);
  EXPECT_NE(list.status().message().find("job/bad"), std::string::npos) << list.status();
  ASSERT_TRUE(kv_->Put("job/bad", R"({"id":"other","project_id":"p","gallery":"g","kind":"k",)"
                                  R"("state":"s","spec":"","progress":"","created_ms":1,)"
                                  R"("updated_ms":2})")
                  .ok());
  EXPECT_EQ(ReasonOf(jobs_->Get("bad").status()), Reason::kCorrupt) << "id differs from its key";
  ASSERT_TRUE(kv_->Put("job/bad", R"({"id":"bad","project_id":"p","gallery":"g","kind":"k",)"
                                  R"("state":"s","spec":"","progress":"","created_ms":"1",)"
                                  R"("updated_ms":2})")
                  .ok());
  EXPECT_EQ(ReasonOf(jobs_->Get("bad").status()), Reason::kCorrupt);
}

}  // namespace
}  // namespace iss::store
