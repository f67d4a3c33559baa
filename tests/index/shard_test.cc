// The engine's ports over the tiered index: LocalSnapshotStore keeps today's layout
// (<root>/<016x uid>), lists only names of that form and removes a shard's files;
// TieredShardFactory opens persisted shards in their store directory (restored on reopen,
// removed by Destroy) and unpersisted ones without a directory, with the template's knobs,
// the shared executor and the env it was given; ToIndexStats maps TieredStats as the
// service's GetIndexInfo does; TieredShard answers searches as ScoredIds.
#include "index/shard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <roaring/roaring64map.hh>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "test_vectors.h"
#include "testing/env/fault_env.h"

namespace iss::index {
namespace {

namespace fs = std::filesystem;
constexpr int kDim = 48;

TieredOptions Template() {
  TieredOptions o;
  o.exact_max = 300;
  o.merge_rows = 100;
  o.nlist = 16;
  o.pq_m = 12;
  o.dir = "/nonexistent/ignored";  // the factory takes dirs from the store
  return o;
}

TEST(LocalSnapshotStoreTest, ShardDirsAreSixteenLowercaseHexDigits) {
  const std::string root = testing::FreshDir("store") + "/index";
  LocalSnapshotStore store(root);
  auto dir = store.ShardDir(7);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, root + "/0000000000000007");
  EXPECT_TRUE(fs::is_directory(*dir));  // created, with root
  EXPECT_EQ(*store.ShardDir(0xDEADBEEFCAFEF00Dull), root + "/deadbeefcafef00d");
  EXPECT_EQ(LocalSnapshotStore::ShardName(0), "0000000000000000");
  EXPECT_EQ(LocalSnapshotStore::ParseShardName("deadbeefcafef00d"), 0xDEADBEEFCAFEF00Dull);
  EXPECT_EQ(LocalSnapshotStore::ParseShardName("ffffffffffffffff"), ~0ull);
  for (const char* bad : {"DEADBEEFCAFEF00D", "000000000000007", "00000000000000007",
                          "000000000000000g", "", "tmp"}) {
    EXPECT_FALSE(LocalSnapshotStore::ParseShardName(bad).has_value()) << bad;
  }
  fs::remove_all(fs::path(root).parent_path());
}

TEST(LocalSnapshotStoreTest, ListsShardsAndRemovesThem) {
  const std::string base = testing::FreshDir("store-list");
  const std::string root = base + "/index";
  LocalSnapshotStore store(root);
  EXPECT_TRUE(store.ListShards()->empty());  // no root yet
  for (uint64_t uid : {uint64_t(42), uint64_t(7), uint64_t(0xabcdef0123456789ull)}) {
    ASSERT_TRUE(store.ShardDir(uid).ok());
  }
  std::ofstream(root + "/0000000000000007/snapshot.meta") << "x";
  fs::create_directories(root + "/ABCDEF0123456789");  // not a name we write
  fs::create_directories(root + "/lost+found");
  std::ofstream(root + "/README") << "not a shard";
  EXPECT_EQ(*store.ListShards(), (std::vector<uint64_t>{7, 42, 0xabcdef0123456789ull}));
  ASSERT_TRUE(store.RemoveShard(7).ok());
  EXPECT_FALSE(fs::exists(root + "/0000000000000007"));
  EXPECT_TRUE(store.RemoveShard(7).ok());    // absent: OK
  EXPECT_TRUE(store.RemoveShard(999).ok());  // never existed: OK
  EXPECT_EQ(*store.ListShards(), (std::vector<uint64_t>{42, 0xabcdef0123456789ull}));
  fs::remove_all(base);
}

TEST(ToIndexStatsTest, MapsAsGetIndexInfoDid) {
  TieredStats st;
  st.live = 11;
  st.rows = 20;
  st.ann_rows = 15;
  st.buffer_rows = 5;
  st.ann = true;
  st.nlist = 64;
  st.ram_bytes = 1234;
  st.disk_bytes = 5678;
  st.restored = true;
  st.preloaded_bytes = 99;
  model::IndexStats s = ToIndexStats(st);
  EXPECT_EQ(s.tier, "ivf-pq");
  EXPECT_EQ(s.vectors, 11);
  EXPECT_EQ(s.ann_rows, 15);
  EXPECT_EQ(s.buffer_rows, 5);
  EXPECT_EQ(s.nlist, 64);
  EXPECT_EQ(s.ram_bytes, 1234);
  EXPECT_EQ(s.disk_bytes, 5678);
  EXPECT_TRUE(s.restored);
  EXPECT_EQ(s.preloaded_bytes, 99);
  st.ann = false;
  EXPECT_EQ(ToIndexStats(st).tier, "exact");
}

TEST(TieredShardFactoryTest, PersistedShardsLiveInTheirStoreDirectory) {
  const std::string root = testing::FreshDir("factory") + "/index";
  LocalSnapshotStore store(root);
  Executor executor({.threads = 1, .name = "test-index"});
  TieredShardFactory factory(Template(), &executor, Env::Default(), &store);
  {
    auto shard = factory.OpenShard(7, kDim, /*persisted=*/true);
    ASSERT_TRUE(shard.ok()) << shard.status();
    EXPECT_EQ((*shard)->dim(), kDim);
    EXPECT_FALSE((*shard)->Stats().restored);
    EXPECT_EQ((*shard)->Stats().tier, "exact");
    for (uint64_t id = 1; id <= 400; ++id) {
      ASSERT_TRUE((*shard)->Put(id, testing::Vec(id, 0, kDim), id).ok());
    }
    // The template's exact_max (300) and the shared executor: the ANN tier trains there.
    static_cast<TieredShard&>(**shard).index().WaitIdle();
    const model::IndexStats s = (*shard)->Stats();
    EXPECT_EQ(s.tier, "ivf-pq");
    EXPECT_EQ(s.vectors, 400);
    EXPECT_GT(s.disk_bytes, 0);
  }  // closing writes the snapshot
  EXPECT_TRUE(fs::exists(root + "/0000000000000007/snapshot.meta"));
  EXPECT_EQ(*store.ListShards(), std::vector<uint64_t>{7});
  auto shard = factory.OpenShard(7, kDim, true);
  ASSERT_TRUE(shard.ok());
  EXPECT_TRUE((*shard)->Stats().restored);
  EXPECT_EQ((*shard)->size(), 400u);
  EXPECT_TRUE((*shard)->HasVersion(9, 9));
  Roaring64Map live;
  for (uint64_t id = 1; id <= 300; ++id) live.add(id);
  EXPECT_EQ((*shard)->RetainOnly(live), 100u);
  EXPECT_TRUE((*shard)->Remove(1));
  EXPECT_FALSE((*shard)->Remove(1));
  auto hits = (*shard)->Search(testing::Vec(17, 0, kDim), 5, nullptr);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 5u);
  EXPECT_EQ((*hits)[0].id, 17u);
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
  Roaring64Map allowed;
  allowed.add(uint64_t(250));
  allowed.add(uint64_t(350));  // retained away
  hits = (*shard)->Search(testing::Vec(17, 0, kDim), 5, &allowed);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].id, 250u);
  (*shard)->Destroy();
  EXPECT_FALSE(fs::exists(root + "/0000000000000007"));
  EXPECT_TRUE(store.ListShards()->empty());
  shard->reset();
  fs::remove_all(fs::path(root).parent_path());
}

TEST(TieredShardFactoryTest, UnpersistedShardsHaveNoDirectory) {
  const std::string root = testing::FreshDir("factory-mem") + "/index";
  LocalSnapshotStore store(root);
  TieredShardFactory factory(Template(), nullptr, Env::Default(), &store);
  auto shard = factory.OpenShard(8, kDim, /*persisted=*/false);
  ASSERT_TRUE(shard.ok()) << shard.status();
  for (uint64_t id = 1; id <= 400; ++id) {
    ASSERT_TRUE((*shard)->Put(id, testing::Vec(id, 0, kDim), 1).ok());
  }
  EXPECT_EQ((*shard)->Stats().tier, "ivf-pq");  // no executor: trained inline
  EXPECT_FALSE(fs::exists(root));
  shard->reset();
  EXPECT_TRUE(store.ListShards()->empty());
  // Without a snapshot store only unpersisted shards open.
  TieredShardFactory no_store(Template(), nullptr, nullptr, nullptr);
  EXPECT_TRUE(no_store.OpenShard(9, kDim, false).ok());
  EXPECT_FALSE(no_store.OpenShard(9, kDim, true).ok());
  fs::remove_all(fs::path(root).parent_path());
}

TEST(TieredShardFactoryTest, ShardsDoTheirIoThroughTheFactorysEnv) {
  const std::string root = testing::FreshDir("factory-env") + "/index";
  LocalSnapshotStore store(root);  // the store on the real file system ...
  iss::testing::FaultInjectionEnv env(Env::Default());
  TieredShardFactory factory(Template(), nullptr, &env, &store);
  env.SetFilesystemActive(false);  // ... the shards' env refusing every change
  auto shard = factory.OpenShard(7, kDim, true);
  ASSERT_FALSE(shard.ok());
  EXPECT_EQ(ReasonOf(shard.status()), Reason::kStorage);
  env.SetFilesystemActive(true);
  EXPECT_TRUE(factory.OpenShard(7, kDim, true).ok());
  fs::remove_all(fs::path(root).parent_path());
}

TEST(TieredShardTest, WrongDimensionsAreInvalidArguments) {
  TieredShardFactory factory(Template(), nullptr, nullptr, nullptr);
  auto shard = factory.OpenShard(1, kDim, false);
  ASSERT_TRUE(shard.ok());
  EXPECT_EQ(ReasonOf((*shard)->Put(1, std::vector<float>(kDim - 1, 0.1f), 1)),
            Reason::kInvalidArgument);
  std::vector<float> nan(kDim, 0.1f);
  nan[3] = std::nanf("");
  EXPECT_EQ(ReasonOf((*shard)->Put(1, nan, 1)), Reason::kInvalidArgument);
  EXPECT_EQ(ReasonOf((*shard)->Search(std::vector<float>(3), 1, nullptr).status()),
            Reason::kInvalidArgument);
  EXPECT_EQ((*shard)->size(), 0u);
}

}  // namespace
}  // namespace iss::index
