// Tests of store::Database / store::Kv on a real RocksDB in a fresh temp dir
// per test.
#include "store/kv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace iss::store {
namespace {

std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = testing::TempDir() + "/iss_store_" + name + "_" + std::to_string(::getpid()) +
                    "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

class KvTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir(testing::UnitTest::GetInstance()->current_test_info()->name());
    Reopen();
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    db_.reset();
    auto db = Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  Kv* Ns(const std::string& name) {
    auto kv = db_->Namespace(name);
    EXPECT_TRUE(kv.ok()) << kv.status();
    return kv.ok() ? *kv : nullptr;
  }
  std::vector<std::pair<std::string, std::string>> ScanAll(Kv* kv, const std::string& prefix) {
    std::vector<std::pair<std::string, std::string>> out;
    absl::Status s = kv->Scan(prefix, [&](std::string_view k, std::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(KvTest, PutGetDelete) {
  Kv* kv = Ns("auth");
  ASSERT_TRUE(kv->Put("user/alice", "secret").ok());
  auto v = kv->Get("user/alice");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "secret");
  EXPECT_FALSE(kv->Get("user/bob")->has_value());
  ASSERT_TRUE(kv->Delete("user/alice").ok());
  EXPECT_FALSE(kv->Get("user/alice")->has_value());
  ASSERT_TRUE(kv->Delete("never-there").ok());
}

TEST_F(KvTest, BinaryKeysAndValues) {
  Kv* kv = Ns("bin");
  std::string key("a\0b\xff", 4), value("\0\1\2\xff\xfe", 5);
  ASSERT_TRUE(kv->Put(key, value).ok());
  EXPECT_EQ(**kv->Get(key), value);
  EXPECT_FALSE(kv->Get(std::string("a\0c", 3))->has_value());
}

TEST_F(KvTest, NamespacesAreSeparate) {
  Kv* a = Ns("auth");
  Kv* b = Ns("catalog");
  ASSERT_NE(a, b);
  EXPECT_EQ(Ns("auth"), a);  // same pointer on a second call
  ASSERT_TRUE(a->Put("k", "from-a").ok());
  ASSERT_TRUE(b->Put("k", "from-b").ok());
  EXPECT_EQ(**a->Get("k"), "from-a");
  EXPECT_EQ(**b->Get("k"), "from-b");
  ASSERT_TRUE(a->DeleteRange("", "\xff\xff").ok());
  EXPECT_FALSE(a->Get("k")->has_value());
  EXPECT_EQ(**b->Get("k"), "from-b");
  EXPECT_EQ(ScanAll(b, "").size(), 1u);
}

TEST_F(KvTest, ReopenKeepsEveryNamespace) {
  ASSERT_TRUE(Ns("auth")->Put("user/alice", "1").ok());
  ASSERT_TRUE(Ns("catalog")->Put("inst/p/x", "2").ok());
  Reopen();
  EXPECT_EQ(**Ns("auth")->Get("user/alice"), "1");
  EXPECT_EQ(**Ns("catalog")->Get("inst/p/x"), "2");
  EXPECT_FALSE(Ns("auth")->Get("inst/p/x")->has_value());
  Reopen();  // twice: reopening an already reopened database with its families
  EXPECT_EQ(**Ns("catalog")->Get("inst/p/x"), "2");
}

TEST_F(KvTest, WriteBatchAppliesPutsAndDeletes) {
  Kv* kv = Ns("c");
  ASSERT_TRUE(kv->Put("old", "x").ok());
  ASSERT_TRUE(kv->Write({{"a", "1"}, {"b", "2"}, {"old", std::nullopt}}).ok());
  EXPECT_EQ(**kv->Get("a"), "1");
  EXPECT_EQ(**kv->Get("b"), "2");
  EXPECT_FALSE(kv->Get("old")->has_value());
  Reopen();
  kv = Ns("c");
  EXPECT_EQ(ScanAll(kv, "").size(), 2u);
}

TEST_F(KvTest, ScanIsPrefixOrderedAndStoppable) {
  Kv* kv = Ns("c");
  for (std::string k : {"img/2/b", "img/1/a", "img/1/c", "img/10", "img/1", "inst/x", "ima"}) {
    ASSERT_TRUE(kv->Put(k, "v" + k).ok());
  }
  auto all = ScanAll(kv, "img/1");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].first, "img/1");
  EXPECT_EQ(all[1].first, "img/1/a");
  EXPECT_EQ(all[2].first, "img/1/c");
  EXPECT_EQ(all[3].first, "img/10");
  EXPECT_EQ(all[1].second, "vimg/1/a");
  EXPECT_EQ(ScanAll(kv, "img/1/").size(), 2u);
  EXPECT_EQ(ScanAll(kv, "zzz").size(), 0u);
  int seen = 0;
  ASSERT_TRUE(kv->Scan("", [&](std::string_view, std::string_view) { return ++seen < 3; }).ok());
  EXPECT_EQ(seen, 3);
}

TEST_F(KvTest, ScanPrefixOfHighBytes) {
  Kv* kv = Ns("c");
  std::string hi("\xff\xff", 2);
  ASSERT_TRUE(kv->Put(hi + "a", "1").ok());
  ASSERT_TRUE(kv->Put(hi + "b", "2").ok());
  ASSERT_TRUE(kv->Put("\xfe", "3").ok());
  EXPECT_EQ(ScanAll(kv, hi).size(), 2u);
}

uintmax_t SstBytes(const std::string& dir) {
  uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sst") bytes += e.file_size();
  }
  return bytes;
}

TEST_F(KvTest, DeleteRangeAndCompactFreeTheRange) {
  Kv* kv = Ns("c");
  std::mt19937 rng(7);
  std::string noise(4096,
                    0);  // incompressible, so the SST size tells the truth
  for (int i = 0; i < 200; ++i) {
    for (char& c : noise) c = static_cast<char>(rng());
    ASSERT_TRUE(kv->Put("img/0001/" + std::to_string(1000 + i), noise).ok());
  }
  ASSERT_TRUE(kv->Put("img/0002/keep", "k").ok());
  ASSERT_TRUE(kv->Put("img/0000/keep", "k").ok());
  Reopen();  // recovery flushes the memtable: the range now lives in SST files
  kv = Ns("c");
  EXPECT_GT(SstBytes(dir_ + "/db"), 700u * 1024u);
  ASSERT_TRUE(kv->DeleteRange("img/0001/", "img/0002/").ok());
  kv->CompactRange("img/0001/", "img/0002/");
  EXPECT_EQ(ScanAll(kv, "img/0001/").size(), 0u);
  EXPECT_EQ(ScanAll(kv, "img/").size(), 2u);
  EXPECT_LT(SstBytes(dir_ + "/db"), 100u * 1024u) << "deleted range still occupies SST space";
  Reopen();
  EXPECT_EQ(ScanAll(Ns("c"), "img/").size(), 2u);
}

TEST_F(KvTest, SecondOpenOfSameDirFails) {
  auto second = Database::Open(dir_ + "/db", {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(ReasonOf(second.status()), Reason::kUnavailable) << second.status();
}

TEST_F(KvTest, EmptyAndReservedNamespaceNamesAreRefused) {
  auto kv = db_->Namespace("");
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(ReasonOf(kv.status()), Reason::kInvalidArgument);
  // RocksDB's default column family is the store's own (the no-space sentinel lives there).
  EXPECT_EQ(ReasonOf(db_->Namespace("default").status()), Reason::kInvalidArgument);
}

}  // namespace
}  // namespace iss::store

namespace iss::store {
namespace {

// A checkpoint taken while another thread writes holds every write acknowledged before it
// began, in every namespace, and only whole batches; the original keeps working.
TEST_F(KvTest, CheckpointIsConsistentUnderWrites) {
  Kv* a = Ns("catalog");
  Kv* b = Ns("auth");
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a->Write({{"k" + std::to_string(i), "v"}}).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::thread writer([&] {
    for (int i = 100; !stop.load(); ++i) {
      // Two keys in one batch: a checkpoint must never hold one without the other.
      if (!a->Write({{"k" + std::to_string(i), "v"}, {"pair" + std::to_string(i), "v"}}).ok()) {
        return;
      }
      acked.store(i + 1);
    }
  });
  while (acked.load() < 150) std::this_thread::yield();
  const int before = acked.load();
  ASSERT_TRUE(b->Put("user/x", "1").ok());
  const std::string copy = dir_ + "/checkpoint";
  ASSERT_TRUE(db_->Checkpoint(copy).ok());
  stop.store(true);
  writer.join();
  EXPECT_EQ(ReasonOf(db_->Checkpoint(copy)), Reason::kInvalidArgument);  // exists
  ASSERT_TRUE(a->Put("after", "1").ok());  // the original still writes

  auto opened = Database::Open(copy, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Kv* ca = *(*opened)->Namespace("catalog");
  Kv* cb = *(*opened)->Namespace("auth");
  EXPECT_EQ(**cb->Get("user/x"), "1");
  EXPECT_FALSE(ca->Get("after")->has_value());
  int keys = 0;
  for (int i = 0;; ++i) {
    const bool k = ca->Get("k" + std::to_string(i))->has_value();
    if (!k) break;
    ++keys;
    if (i >= 100) {
      EXPECT_TRUE(ca->Get("pair" + std::to_string(i))->has_value()) << i;
    }
  }
  EXPECT_GE(keys, before);
  EXPECT_FALSE(ca->Get("pair" + std::to_string(keys))->has_value());
}

}  // namespace
}  // namespace iss::store
