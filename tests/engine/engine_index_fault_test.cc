// The engine when its index cannot write (a full disk under the index's files, made with
// the fault-injection Env of tests/testing/env) after the catalog has committed a write:
// the write is committed, so it answers OK and is complete at once (found by check, by
// tags and by image search) and after a restart; a replaced image's old vector is gone at
// once. Before the catalog write was the commit point the client got an error for an image
// that was on disk (it reappeared after a restart: a phantom write), and a re-added image
// vanished from the running server until a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/executor.h"
#include "common/status.h"
#include "engine/engine.h"
#include "features/model_registry.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"
#include "testing/env/fault_env.h"

namespace iss::engine {
namespace {

const std::string kDev = std::string(ISS_SHARED_DIR) + "/eval/dev";
constexpr char kProject[] = "p1";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Image(int original) {
  char name[64];
  std::snprintf(name, sizeof name, "/originals/o_%03d.jpg", original);
  return ReadFile(kDev + name);
}

class EngineIndexFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto models = features::OpenModelRegistry(ISS_MODEL_DIR, {});
    ASSERT_TRUE(models.ok()) << models.status();
    models_ = models->release();
  }
  static void TearDownTestSuite() { delete models_; }

  void SetUp() override {
    dir_ = ::testing::TempDir() + "/iss_engine_index_fault_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    env_ = std::make_unique<iss::testing::FaultInjectionEnv>(Env::Default());
    Open();
  }
  void TearDown() override {
    env_->SetFilesystemActive(true);
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Close() {
    engine_.reset();
    shards_.reset();
    snapshots_.reset();
    executor_.reset();
    catalog_.reset();
    db_.reset();
  }
  void Open() {
    Close();
    auto db = store::Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto catalog = store::OpenCatalog(db_.get());
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
    executor_ = std::make_unique<Executor>(ExecutorOptions{.threads = 1});
    snapshots_ = std::make_unique<index::LocalSnapshotStore>(dir_ + "/index");
    shards_ = std::make_unique<index::TieredShardFactory>(index::TieredOptions{}, executor_.get(),
                                                          env_.get(), snapshots_.get());
    EnginePorts ports{.catalog = catalog_.get(), .index = shards_.get(), .models = models_};
    auto engine = Engine::Open({}, ports);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  absl::Status Put(const std::string& key, int original, model::Tags tags = {}) {
    return engine_->PutItem(kProject, "a",
                            model::NewItem{.key = key, .image = Image(original), .tags = tags});
  }
  // The best hit for the image of `original` (empty key when none).
  model::Hit Top(int original) {
    model::Query q{.image = Image(original), .limit = 5};
    auto page = engine_->Search(kProject, "a", q);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->hits.empty()) return {};
    return page->hits[0];
  }
  double ScoreOf(int original, const std::string& key) {
    model::Query q{.image = Image(original), .limit = 10};
    auto page = engine_->Search(kProject, "a", q);
    EXPECT_TRUE(page.ok()) << page.status();
    for (const model::Hit& h : page->hits) {
      if (h.key == key) return h.score;
    }
    return -1;
  }

  static ModelRegistry* models_;
  std::string dir_;
  std::unique_ptr<iss::testing::FaultInjectionEnv> env_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<CatalogStore> catalog_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<index::LocalSnapshotStore> snapshots_;
  std::unique_ptr<index::TieredShardFactory> shards_;
  std::unique_ptr<Engine> engine_;
};

ModelRegistry* EngineIndexFaultTest::models_ = nullptr;

TEST_F(EngineIndexFaultTest, AWriteCommittedWhenTheIndexCannotAppendIsComplete) {
  model::GallerySpec spec{
      .name = "a", .model = "common-search", .capacity = 100, .tag_keys = {"color"}};
  ASSERT_TRUE(engine_->CreateGallery(kProject, spec).ok());
  ASSERT_TRUE(Put("x", 1).ok());
  ASSERT_TRUE(Put("keep", 5).ok());

  env_->SetFilesystemActive(false);  // the index's files cannot be written any more
  // A new image: committed to the catalog, so OK, and searchable at once.
  ASSERT_TRUE(Put("y", 2, {{"color", "red"}}).ok());
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "y"));
  EXPECT_EQ(Top(2).key, "y");
  EXPECT_GT(Top(2).score, 0.99);
  model::Query red{.image = Image(2), .filter = {{"color", "red"}}, .limit = 5};
  auto page = engine_->Search(kProject, "a", red);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 1u);
  EXPECT_EQ(page->hits[0].key, "y");
  // A re-added image: the new pixels are found, the old ones are not.
  ASSERT_TRUE(Put("x", 3).ok());
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "x"));
  EXPECT_EQ(Top(3).key, "x");
  EXPECT_LT(ScoreOf(1, "x"), 0.99);
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, 3);
  // A removal of an image the index could not take.
  ASSERT_TRUE(Put("gone", 4).ok());
  ASSERT_TRUE(engine_->RemoveItem(kProject, "a", "gone").ok());
  EXPECT_NE(Top(4).key, "gone");

  // Space is back: the next write moves them into the index; searches agree.
  env_->SetFilesystemActive(true);
  ASSERT_TRUE(Put("z", 6).ok());
  EXPECT_EQ(Top(2).key, "y");
  EXPECT_EQ(Top(3).key, "x");
  EXPECT_EQ(Top(6).key, "z");

  // And after a restart, exactly what was acknowledged.
  Open();
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "y"));
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "x"));
  EXPECT_FALSE(*engine_->HasItem(kProject, "a", "gone"));
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, 4);
  EXPECT_EQ(Top(2).key, "y");
  EXPECT_EQ(Top(3).key, "x");
  EXPECT_LT(ScoreOf(1, "x"), 0.99);
}

// The same without space coming back before the restart: the restart replays the
// committed vectors from the catalog.
TEST_F(EngineIndexFaultTest, ARestartReplaysWhatTheIndexCouldNotTake) {
  model::GallerySpec spec{.name = "a", .model = "common-search", .capacity = 100};
  ASSERT_TRUE(engine_->CreateGallery(kProject, spec).ok());
  ASSERT_TRUE(Put("x", 1).ok());
  env_->SetFilesystemActive(false);
  ASSERT_TRUE(Put("y", 2).ok());
  ASSERT_TRUE(Put("x", 3).ok());
  engine_.reset();  // its final snapshot fails: the index files stay as they were
  env_->SetFilesystemActive(true);
  Open();
  EXPECT_EQ(Top(2).key, "y");
  EXPECT_EQ(Top(3).key, "x");
  EXPECT_LT(ScoreOf(1, "x"), 0.99);
}

}  // namespace
}  // namespace iss::engine
