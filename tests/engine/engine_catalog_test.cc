// The engine against its catalog, with the real RocksDB catalog wrapped so a test can hold
// or fail one call (a fault-injecting wrapper, as leveldb's tests wrap their Env):
// - a creation or deletion waiting on the catalog's durable write holds no lock that other
//   requests need (the registry lock is never held across I/O);
// - a refused write leaves no trace (name free again, gallery still there, item absent);
// - batches are one durable write, all or nothing;
// - a put waiting on its durable write blocks no search of its gallery, and concurrent puts
//   share durable writes (group commit), each failing or succeeding on its own;
// - item ids and version stamps are never handed out twice, even after the newest items
//   were deleted and the engine restarted (an index snapshot may still hold the old pair).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "common/mutex.h"
#include "common/status.h"
#include "engine/engine.h"
#include "features/model_registry.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"

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

std::string Why(const absl::Status& s) {
  return s.ok() ? "" : std::string(ReasonName(ReasonOf(s)));
}

// Forwards to the real catalog; a test may hold the next CreateGallery/DeleteGallery/Apply
// until released, or fail the next Apply.
class HoldingCatalog : public CatalogStore {
 public:
  explicit HoldingCatalog(std::unique_ptr<CatalogStore> real) : real_(std::move(real)) {}

  struct Hold {
    iss::Notification entered, release;
  };
  std::shared_ptr<Hold> HoldNext(std::string op) {
    auto h = std::make_shared<Hold>();
    std::lock_guard l(mu_);
    hold_op_ = std::move(op);
    hold_ = h;
    return h;
  }
  void FailNextApply() { fail_apply_ = true; }
  int applies() const { return applies_; }

  absl::StatusOr<std::vector<GalleryRecord>> LoadGalleries() override {
    return real_->LoadGalleries();
  }
  absl::StatusOr<uint64_t> NextGalleryUid() override { return real_->NextGalleryUid(); }
  absl::Status CreateGallery(const GalleryRecord& r) override {
    MaybeHold("create");
    return real_->CreateGallery(r);
  }
  absl::Status DeleteGallery(const GalleryRecord& r) override {
    MaybeHold("delete");
    return real_->DeleteGallery(r);
  }
  void ReclaimGallery(uint64_t uid) override { real_->ReclaimGallery(uid); }
  absl::Status ScanItems(uint64_t uid, const std::function<bool(ItemRecord&&)>& fn) override {
    return real_->ScanItems(uid, fn);
  }
  absl::StatusOr<std::optional<ItemRecord>> GetItem(uint64_t uid, std::string_view key) override {
    return real_->GetItem(uid, key);
  }
  absl::StatusOr<std::optional<ItemCounters>> GetCounters(uint64_t uid) override {
    return real_->GetCounters(uid);
  }
  absl::Status Apply(uint64_t uid, const CatalogBatch& batch) override {
    MaybeHold("apply");
    if (fail_apply_.exchange(false)) return Fail(Reason::kNoSpace, "(injected)");
    ++applies_;
    return real_->Apply(uid, batch);
  }
  absl::StatusOr<std::optional<StoredVector>> GetVector(uint64_t uid, uint64_t id) override {
    return real_->GetVector(uid, id);
  }
  absl::StatusOr<std::optional<std::string>> GetLocalFeatures(uint64_t uid, uint64_t id) override {
    return real_->GetLocalFeatures(uid, id);
  }
  absl::Status ScanVectors(uint64_t uid,
                           const std::function<bool(uint64_t, StoredVector&&)>& fn) override {
    return real_->ScanVectors(uid, fn);
  }

 private:
  void MaybeHold(const std::string& op) {
    std::shared_ptr<Hold> h;
    {
      std::lock_guard l(mu_);
      if (hold_ && hold_op_ == op) h = std::exchange(hold_, nullptr);
    }
    if (h) {
      h->entered.Notify();
      h->release.WaitForNotification();
    }
  }
  std::unique_ptr<CatalogStore> real_;
  std::mutex mu_;
  std::string hold_op_;
  std::shared_ptr<Hold> hold_;
  std::atomic<bool> fail_apply_{false};
  std::atomic<int> applies_{0};
};

class EngineCatalogTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto models = features::OpenModelRegistry(ISS_MODEL_DIR, {});
    ASSERT_TRUE(models.ok()) << models.status();
    models_ = models->release();
  }
  static void TearDownTestSuite() { delete models_; }

  void SetUp() override {
    dir_ = testing::TempDir() + "/iss_engine_catalog_" + std::to_string(::getpid()) + "_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Close() {
    engine_.reset();
    shards_.reset();
    snapshots_.reset();
    executor_.reset();
    catalog_ = nullptr;
    owned_catalog_.reset();
    db_.reset();
  }
  void Open() {
    Close();
    auto db = store::Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto real = store::OpenCatalog(db_.get());
    ASSERT_TRUE(real.ok());
    owned_catalog_ = std::make_unique<HoldingCatalog>(std::move(*real));
    catalog_ = owned_catalog_.get();
    executor_ = std::make_unique<Executor>(ExecutorOptions{.threads = 1});
    snapshots_ = std::make_unique<index::LocalSnapshotStore>(dir_ + "/index");
    shards_ = std::make_unique<index::TieredShardFactory>(index::TieredOptions{}, executor_.get(),
                                                          Env::Default(), snapshots_.get());
    EnginePorts ports{.catalog = catalog_, .index = shards_.get(), .models = models_};
    auto engine = Engine::Open({}, ports);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  absl::Status Create(const std::string& name) {
    model::GallerySpec spec{
        .name = name, .model = "common-search", .capacity = 100, .tag_keys = {"color"}};
    return engine_->CreateGallery(kProject, spec).status();
  }
  model::NewItem Item(const std::string& key, int original) {
    char name[64];
    std::snprintf(name, sizeof name, "/originals/o_%03d.jpg", original);
    return model::NewItem{.key = key, .image = ReadFile(kDev + name)};
  }

  static ModelRegistry* models_;
  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<HoldingCatalog> owned_catalog_;
  HoldingCatalog* catalog_ = nullptr;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<index::LocalSnapshotStore> snapshots_;
  std::unique_ptr<index::TieredShardFactory> shards_;
  std::unique_ptr<Engine> engine_;
};

ModelRegistry* EngineCatalogTest::models_ = nullptr;

// Bounded wait for a future (a request that must not be blocked).
template <typename T>
bool DoneSoon(std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
}

TEST_F(EngineCatalogTest, CreationWaitingOnItsWriteBlocksNoOneElse) {
  ASSERT_TRUE(Create("a").ok());
  auto hold = catalog_->HoldNext("create");
  auto creating = std::async(std::launch::async, [&] { return Create("b"); });
  hold->entered.WaitForNotification();  // "b" is inside the catalog's durable write
  auto read =
      std::async(std::launch::async, [&] { return engine_->GetGallery(kProject, "a").status(); });
  ASSERT_TRUE(DoneSoon(read)) << "a read waited for another gallery's creation";
  EXPECT_TRUE(read.get().ok());
  auto list = std::async(std::launch::async, [&] { return engine_->ListGalleries(kProject); });
  ASSERT_TRUE(DoneSoon(list));
  EXPECT_EQ(list.get()->size(), 1u);  // "b" is not visible until it is durable
  auto other = std::async(std::launch::async, [&] { return Create("c"); });
  ASSERT_TRUE(DoneSoon(other)) << "a creation waited for another one";
  EXPECT_TRUE(other.get().ok());
  EXPECT_EQ(Why(Create("b")), "GalleryExists");  // the name is reserved meanwhile
  hold->release.Notify();
  EXPECT_TRUE(creating.get().ok());
  EXPECT_TRUE(engine_->GetGallery(kProject, "b").ok());
}

TEST_F(EngineCatalogTest, DeletionWaitingOnItsWriteBlocksNoOneElse) {
  ASSERT_TRUE(Create("a").ok());
  ASSERT_TRUE(Create("doomed").ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("x", 1)).ok());
  auto hold = catalog_->HoldNext("delete");
  auto deleting =
      std::async(std::launch::async, [&] { return engine_->DeleteGallery(kProject, "doomed"); });
  hold->entered.WaitForNotification();
  model::Query q{.key = "x", .limit = 5};
  auto search = std::async(std::launch::async, [&] { return engine_->Search(kProject, "a", q); });
  ASSERT_TRUE(DoneSoon(search)) << "a search waited for another gallery's deletion";
  EXPECT_TRUE(search.get().ok());
  // The gallery being deleted is gone for every new request; its name cannot be reused yet.
  EXPECT_EQ(Why(engine_->GetGallery(kProject, "doomed").status()), "GalleryNotFound");
  EXPECT_EQ(Why(Create("doomed")), "GalleryDeleting");
  hold->release.Notify();
  EXPECT_TRUE(deleting.get().ok());
  EXPECT_TRUE(Create("doomed").ok());
}

TEST_F(EngineCatalogTest, RefusedWritesLeaveNoTrace) {
  ASSERT_TRUE(Create("a").ok());
  catalog_->FailNextApply();
  EXPECT_EQ(Why(engine_->PutItem(kProject, "a", Item("x", 1))), "NoSpace");
  EXPECT_FALSE(*engine_->HasItem(kProject, "a", "x"));
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, 0);
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("x", 1)).ok());
  catalog_->FailNextApply();
  EXPECT_EQ(Why(engine_->RemoveItem(kProject, "a", "x")), "NoSpace");
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "x"));
  catalog_->FailNextApply();
  EXPECT_EQ(Why(engine_->SetItemTags(kProject, "a", "x", {{"color", "red"}})), "NoSpace");
  model::Query red{.filter = {{"color", "red"}}, .limit = 10};
  EXPECT_TRUE(engine_->Search(kProject, "a", red)->hits.empty());
  Open();
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "x"));
  EXPECT_TRUE(engine_->Search(kProject, "a", red)->hits.empty());
}

TEST_F(EngineCatalogTest, BatchesAreOneWriteAndAllOrNothing) {
  ASSERT_TRUE(Create("a").ok());
  const int before = catalog_->applies();
  std::vector<model::NewItem> items = {Item("a1", 1), Item("a2", 2), Item("a3", 3), Item("a1", 4)};
  items[1].tags = {{"color", "red"}};
  ASSERT_TRUE(engine_->PutItems(kProject, "a", items).ok());
  EXPECT_EQ(catalog_->applies(), before + 1);
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, 3);  // a1 given twice: one item
  model::Query by_a1{.key = "a1", .limit = 1};
  auto page = engine_->Search(kProject, "a", by_a1);
  ASSERT_TRUE(page.ok());
  // The last a1 (o_004) wins: searching by its image finds it first.
  model::Query by_4{.image = Item("q", 4).image, .limit = 1};
  EXPECT_EQ(engine_->Search(kProject, "a", by_4)->hits.at(0).key, "a1");
  std::vector<model::NewItem> bad = {Item("b1", 5), {.key = "b2", .image = std::string("junk")}};
  EXPECT_EQ(Why(engine_->PutItems(kProject, "a", bad)), "ImageFormat");
  EXPECT_FALSE(*engine_->HasItem(kProject, "a", "b1"));
  EXPECT_EQ(Why(engine_->PutItems(kProject, "a", {Item("t", 1)})), "");
  std::vector<model::NewItem> bad_tag = {Item("c1", 1)};
  bad_tag[0].tags = {{"size", "xl"}};
  EXPECT_EQ(Why(engine_->PutItems(kProject, "a", bad_tag)), "TagUnknown");
  Open();
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, 4);
}

TEST_F(EngineCatalogTest, APutWaitingOnItsWriteLetsSearchesRun) {
  ASSERT_TRUE(Create("a").ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("x", 1)).ok());
  auto hold = catalog_->HoldNext("apply");
  auto put =
      std::async(std::launch::async, [&] { return engine_->PutItem(kProject, "a", Item("y", 2)); });
  hold->entered.WaitForNotification();  // "y" is inside the catalog's synced write
  model::Query q{.image = Item("q", 1).image, .limit = 5};
  auto search = std::async(std::launch::async, [&] { return engine_->Search(kProject, "a", q); });
  ASSERT_TRUE(DoneSoon(search)) << "a search waited for a put's durable write";
  auto page = search.get();
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->hits.size(), 1u);  // "y" is not visible before it is durable
  auto check = std::async(std::launch::async,
                          [&] { return engine_->HasItem(kProject, "a", "x").value_or(false); });
  ASSERT_TRUE(DoneSoon(check));
  EXPECT_TRUE(check.get());
  hold->release.Notify();
  EXPECT_TRUE(put.get().ok());
  EXPECT_TRUE(*engine_->HasItem(kProject, "a", "y"));
}

// While one put's write is held, the puts that arrive meanwhile queue behind it and go
// to the catalog together: fewer durable writes than puts, every put acknowledged and on
// disk after a restart. Without the group commit every put is its own write.
TEST_F(EngineCatalogTest, ConcurrentPutsShareDurableWrites) {
  ASSERT_TRUE(Create("a").ok());
  const int before = catalog_->applies();
  auto hold = catalog_->HoldNext("apply");
  constexpr int kPuts = 8;
  std::vector<std::future<absl::Status>> puts;
  puts.push_back(std::async(std::launch::async,
                            [&] { return engine_->PutItem(kProject, "a", Item("k0", 1)); }));
  hold->entered.WaitForNotification();
  for (int i = 1; i < kPuts; ++i) {
    puts.push_back(std::async(std::launch::async, [&, i] {
      return engine_->PutItem(kProject, "a", Item("k" + std::to_string(i), 1 + i % 8));
    }));
  }
  // Long enough for the others to embed (slowly under sanitizers) and queue.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  hold->release.Notify();
  for (auto& p : puts) EXPECT_TRUE(p.get().ok());
  EXPECT_LT(catalog_->applies() - before, kPuts);
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, kPuts);
  Open();
  EXPECT_EQ(engine_->GetGallery(kProject, "a")->item_count, kPuts);
}

// A put that would overfill the gallery fails alone, not the others written with it.
TEST_F(EngineCatalogTest, AFullGalleryRefusesOnlyThePutThatOverfillsIt) {
  model::GallerySpec spec{.name = "small", .model = "common-search", .capacity = 4};
  ASSERT_TRUE(engine_->CreateGallery(kProject, spec).ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "small", Item("a", 1)).ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "small", Item("b", 2)).ok());
  auto hold = catalog_->HoldNext("apply");
  auto c = std::async(std::launch::async,
                      [&] { return engine_->PutItem(kProject, "small", Item("c", 3)); });
  hold->entered.WaitForNotification();
  auto d = std::async(std::launch::async,
                      [&] { return engine_->PutItem(kProject, "small", Item("d", 4)); });
  auto e = std::async(std::launch::async,
                      [&] { return engine_->PutItem(kProject, "small", Item("e", 5)); });
  std::this_thread::sleep_for(std::chrono::seconds(3));  // d and e queue behind c
  hold->release.Notify();
  EXPECT_TRUE(c.get().ok());
  const std::string wd = Why(d.get()), we = Why(e.get());
  EXPECT_TRUE((wd.empty() && we == "ItemLimit") || (we.empty() && wd == "ItemLimit"))
      << wd << " / " << we;
  EXPECT_EQ(engine_->GetGallery(kProject, "small")->item_count, 4);
}

// Before item counters were persisted, ids and versions were derived as "largest + 1" at
// start-up, so deleting the newest item and restarting handed its (id, version) to the
// next new item; after a crash, an index snapshot taken before the deletion would then
// serve the deleted image's vector under the new key (found in review, issue 10).
TEST_F(EngineCatalogTest, IdsAndVersionsAreNeverHandedOutTwice) {
  ASSERT_TRUE(Create("a").ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("x", 1)).ok());
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("y", 2)).ok());
  auto uid = catalog_->LoadGalleries()->at(0).uid;
  const ItemRecord y = **catalog_->GetItem(uid, "y");
  ASSERT_TRUE(engine_->RemoveItem(kProject, "a", "y").ok());
  Open();
  ASSERT_TRUE(engine_->PutItem(kProject, "a", Item("z", 3)).ok());
  const ItemRecord z = **catalog_->GetItem(uid, "z");
  EXPECT_GT(z.id, y.id);
  EXPECT_GT(z.version, y.version);
}

}  // namespace
}  // namespace iss::engine
