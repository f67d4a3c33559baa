// Durability of the tiered index's snapshots against a simulated power cut
// (FaultInjectionEnv: unsynced bytes and undurable directory changes are lost). With syncs
// on, every row a successful Snapshot() acknowledged is there after the cut, with its
// version, and rows written after it are cut off (the caller replays them). With syncs off
// (a build without fsync) the same sequence loses the snapshot: the test detects the
// absence of the property it checks. The vector file's rows survive exactly up to their
// last Sync, and only once a SyncDir made the file's creation durable.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "index/tiered_index.h"
#include "index/vector_file.h"
#include "test_vectors.h"
#include "testing/env/fault_env.h"

namespace iss::index {
namespace {

namespace fs = std::filesystem;
using FaultEnv = iss::testing::FaultInjectionEnv;
constexpr int kDim = 48;

TieredOptions Options(const std::string& dir, Env* env) {
  TieredOptions o;
  o.dir = dir;
  o.env = env;
  o.exact_max = 300;  // the ANN tier trains: its file is part of the snapshot
  o.merge_rows = 100;
  o.nlist = 16;
  o.pq_m = 12;
  o.preload = false;
  return o;
}

struct Written {
  std::map<uint64_t, uint64_t> acked;    // id -> version a successful Snapshot() covered
  std::vector<uint64_t> removed;         // removed before that snapshot
  std::map<uint64_t, uint64_t> unacked;  // written after it
};

// Writes through `env` two snapshots' worth of rows (the second replacing the first's
// generation files), then rows no snapshot covers; the machine then goes down (the
// closing snapshot fails) and loses power.
Written WriteThenPowerCut(FaultEnv* env, const std::string& dir) {
  Written w;
  auto ix = TieredIndex::Open(kDim, Options(dir, env));
  EXPECT_TRUE(ix.ok()) << ix.status();
  if (!ix.ok()) return w;
  for (uint64_t id = 1; id <= 600; ++id) {
    EXPECT_TRUE((*ix)->Put(id, testing::Vec(id, id, kDim), id).ok());
    w.acked[id] = id;
  }
  EXPECT_TRUE((*ix)->Snapshot().ok());
  for (uint64_t id = 601; id <= 900; ++id) {
    EXPECT_TRUE((*ix)->Put(id, testing::Vec(id, id, kDim), id).ok());
    w.acked[id] = id;
  }
  for (uint64_t id = 5; id <= 900; id += 50) {
    EXPECT_TRUE((*ix)->Remove(id));
    w.acked.erase(id);
    w.removed.push_back(id);
  }
  EXPECT_TRUE((*ix)->Stats().ann);
  EXPECT_TRUE((*ix)->Snapshot().ok());        // acknowledged: everything above
  for (uint64_t id = 890; id <= 990; ++id) {  // new ids and new versions of acked ones
    EXPECT_TRUE((*ix)->Put(id, testing::Vec(id, 7, kDim), 100000 + id).ok());
    w.unacked[id] = 100000 + id;
  }
  env->SetFilesystemActive(false);  // the machine is down from here
  ix->reset();                      // its closing snapshot fails, as a crash would
  env->SetFilesystemActive(true);
  EXPECT_TRUE(env->PowerCut().ok());
  return w;
}

TEST(DurabilityTest, AnAcknowledgedSnapshotSurvivesAPowerCut) {
  const std::string dir = testing::FreshDir("durable");
  FaultEnv env(Env::Default());
  const Written w = WriteThenPowerCut(&env, dir);
  ASSERT_FALSE(HasFailure());
  auto ix = TieredIndex::Open(kDim, Options(dir, Env::Default()));
  ASSERT_TRUE(ix.ok()) << ix.status();
  const TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.restored);
  EXPECT_TRUE(st.ann);
  EXPECT_EQ(st.live, w.acked.size());
  for (const auto& [id, version] : w.acked) {
    ASSERT_TRUE((*ix)->HasVersion(id, version)) << "id " << id;
  }
  for (uint64_t id : w.removed) EXPECT_FALSE((*ix)->Contains(id)) << id;
  for (const auto& [id, version] : w.unacked) {
    EXPECT_FALSE((*ix)->HasVersion(id, version)) << id;  // lost: the caller replays it
  }
  // The rows' vectors are the acknowledged ones: each finds itself.
  for (uint64_t id = 1; id <= 900; id += 41) {
    if (!w.acked.count(id)) continue;
    auto hits = (*ix)->Search(testing::Vec(id, id, kDim), 1, nullptr);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ((*hits)[0].id, id);
    EXPECT_NEAR((*hits)[0].score, 1.0f, 1e-4);
  }
  // Replaying what the snapshot lacks works.
  for (const auto& [id, version] : w.unacked) {
    ASSERT_TRUE((*ix)->Put(id, testing::Vec(id, 7, kDim), version).ok());
    EXPECT_TRUE((*ix)->HasVersion(id, version));
  }
  ix->reset();
  fs::remove_all(dir);
}

TEST(DurabilityTest, WithoutSyncsTheSnapshotIsLost) {
  const std::string dir = testing::FreshDir("no-sync");
  FaultEnv env(Env::Default());
  env.SetSyncEnabled(false);  // a build without fsync: every Sync "succeeds"
  const Written w = WriteThenPowerCut(&env, dir);
  ASSERT_FALSE(HasFailure());
  ASSERT_FALSE(w.acked.empty());
  auto ix = TieredIndex::Open(kDim, Options(dir, Env::Default()));
  ASSERT_TRUE(ix.ok()) << ix.status();
  EXPECT_FALSE((*ix)->Stats().restored);  // lost (or discarded): never half-trusted
  EXPECT_EQ((*ix)->size(), 0u);
  ix->reset();
  fs::remove_all(dir);
}

TEST(DurabilityTest, VectorFileRowsSurviveUpToTheirSync) {
  const std::string dir = testing::FreshDir("vector-file");
  const std::string path = dir + "/vectors-1.q16";
  FaultEnv env(Env::Default());
  {
    auto f = VectorFile::Open(&env, path, kDim, 0);
    ASSERT_TRUE(f.ok()) << f.status();
    for (uint64_t r = 0; r < 100; ++r) {
      ASSERT_TRUE((*f)->Append(testing::Vec(r, 1, kDim).data()).ok());
    }
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE(env.SyncDir(dir).ok());  // the file's creation (a snapshot does this)
    for (uint64_t r = 100; r < 150; ++r) {
      ASSERT_TRUE((*f)->Append(testing::Vec(r, 1, kDim).data()).ok());
    }
    EXPECT_EQ((*f)->rows(), 150u);
  }
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(fs::file_size(path), 100 * RowBytes(kDim));
  auto f = VectorFile::Open(Env::Default(), path, kDim, 100);
  ASSERT_TRUE(f.ok()) << f.status();
  for (uint64_t r : {0, 57, 99}) {
    EXPECT_NEAR((*f)->Dot(testing::Vec(r, 1, kDim).data(), r), 1.0f, 1e-4) << r;
  }
  f->reset();
  fs::remove_all(dir);
}

TEST(DurabilityTest, AVectorFileWhoseCreationWasNeverSyncedIsGone) {
  const std::string dir = testing::FreshDir("vector-file-entry");
  const std::string path = dir + "/vectors-1.q16";
  FaultEnv env(Env::Default());
  {
    auto f = VectorFile::Open(&env, path, kDim, 0);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(testing::Vec(1, 1, kDim).data()).ok());
    ASSERT_TRUE((*f)->Sync().ok());  // the bytes, but not the directory entry
  }
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace iss::index
