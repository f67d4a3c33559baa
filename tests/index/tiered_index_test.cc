// TieredIndex against a brute-force reference: the switch from exact to ANN
// keeps results identical on small data, deletes and replacements never come
// back, filters give full pages, snapshots survive restarts, a corrupt snapshot
// or an older format is discarded, and a process killed (SIGKILL) while
// training leaves a snapshot that is either absent or exactly right.
#include "index/tiered_index.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <roaring/roaring64map.hh>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "index/vector_file.h"

namespace iss::index {
namespace {

namespace fs = std::filesystem;
constexpr int kDim = 48;

// Clustered unit vectors (like embeddings: neighbourhoods, not noise),
// deterministic per (id, salt).
std::vector<float> Vec(uint64_t id, uint64_t salt = 0) {
  std::mt19937_64 centre_rng(id % 37);
  std::mt19937_64 rng(id * 1000003 + salt);
  std::normal_distribution<float> centre, noise;  // one per engine: they cache
  std::vector<float> v(kDim);
  double norm = 0;
  for (float& x : v) {
    x = centre(centre_rng) + 0.5f * noise(rng);
    norm += double(x) * x;
  }
  for (float& x : v) x = float(x / std::sqrt(norm));
  return v;
}

// The inner product of `q` with `stored` as the index keeps it (16-bit
// quantised rows): the reference every tier must reproduce.
float Dot(const std::vector<float>& q, const std::vector<float>& stored) {
  std::vector<uint8_t> row(RowBytes(int(stored.size())));
  std::vector<float> kept(stored.size());
  EncodeRow(stored.data(), int(stored.size()), row.data());
  DecodeRow(row.data(), int(kept.size()), kept.data());
  double s = 0;
  for (size_t i = 0; i < q.size(); ++i) s += double(q[i]) * kept[i];
  return float(s);
}

using Data = std::map<uint64_t, std::vector<float>>;

std::vector<std::pair<float, uint64_t>> Exact(const Data& data, const std::vector<float>& q,
                                              size_t k, const Roaring64Map* allowed) {
  std::vector<std::pair<float, uint64_t>> all;
  for (const auto& [id, v] : data) {
    if (allowed == nullptr || allowed->contains(id)) all.push_back({Dot(q, v), id});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (all.size() > k) all.resize(k);
  return all;
}

// Same ids in the same order as exact search; a swap is tolerated only
// between scores equal to 1e-5 (float summation order).
void ExpectSameAsExact(const std::vector<Hit>& hits,
                       const std::vector<std::pair<float, uint64_t>>& ref, const Data& data,
                       const std::vector<float>& q) {
  ASSERT_EQ(hits.size(), ref.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    ASSERT_TRUE(data.count(hits[i].id)) << "id " << hits[i].id << " is not live";
    EXPECT_NEAR(hits[i].score, Dot(q, data.at(hits[i].id)), 1e-5);
    if (hits[i].id != ref[i].second) {
      EXPECT_NEAR(hits[i].score, ref[i].first, 1e-5) << "rank " << i;
    }
  }
}

TieredOptions SmallAnn() {
  TieredOptions o;
  o.exact_max = 300;
  o.merge_rows = 100;
  o.nlist = 16;
  o.nprobe = 16;  // every list: candidates differ from exact only by PQ error
  o.pq_m = 12;    // no executor: background work runs inline, inside Put/Remove
  return o;
}

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("iss-tiered-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(TieredIndexTest, SwitchOverKeepsResultsIdenticalToExact) {
  auto ix = TieredIndex::Open(kDim, SmallAnn());
  ASSERT_TRUE(ix.ok()) << ix.status();
  Data data;
  for (uint64_t id = 1; id <= 1500; ++id) {
    data[id] = Vec(id);
    ASSERT_TRUE((*ix)->Add(id, data[id]).ok());
    if (id == 200 || id == 1500) {
      // Before the switch (exact tier) and after it (ANN + buffer).
      TieredStats st = (*ix)->Stats();
      EXPECT_EQ(st.ann, id == 1500);
      for (uint64_t qid = 1; qid <= 30; ++qid) {
        std::vector<float> q = Vec(qid * 7919, 99);
        auto hits = (*ix)->Search(q, 10, nullptr);
        ASSERT_TRUE(hits.ok());
        ExpectSameAsExact(*hits, Exact(data, q, 10, nullptr), data, q);
      }
    }
  }
  TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.ann);
  EXPECT_GE(st.builds, 1u);
  EXPECT_EQ(st.live, 1500u);
  EXPECT_LT(st.buffer_rows, 100u);  // merged
}

TEST(TieredIndexTest, DeletesAndReplacementsNeverReappear) {
  auto ix = TieredIndex::Open(kDim, SmallAnn());
  ASSERT_TRUE(ix.ok());
  Data data;
  for (uint64_t id = 1; id <= 1000; ++id) {
    data[id] = Vec(id);
    ASSERT_TRUE((*ix)->Add(id, data[id]).ok());
  }
  ASSERT_TRUE((*ix)->Stats().ann);
  std::vector<uint64_t> removed;
  for (uint64_t id = 1; id <= 1000; id += 3) {
    ASSERT_TRUE((*ix)->Remove(id));
    data.erase(id);
    removed.push_back(id);
  }
  for (uint64_t id = 2; id <= 1000; id += 9) {  // replaced: new vector, same id
    data[id] = Vec(id, 5);
    ASSERT_TRUE((*ix)->Add(id, data[id]).ok());
  }
  EXPECT_FALSE((*ix)->Remove(1));
  EXPECT_EQ((*ix)->size(), data.size());
  for (uint64_t id : removed) {
    // Querying with the removed vector itself: it must not come back.
    auto hits = (*ix)->Search(Vec(id), 10, nullptr);
    ASSERT_TRUE(hits.ok());
    for (const Hit& h : *hits) ASSERT_NE(h.id, id);
    ExpectSameAsExact(*hits, Exact(data, Vec(id), 10, nullptr), data, Vec(id));
  }
  for (uint64_t id = 2; id <= 1000; id += 9) {
    // The old vector of a replaced id scores as the new one, never as itself.
    auto hits = (*ix)->Search(Vec(id), 10, nullptr);
    ASSERT_TRUE(hits.ok());
    for (const Hit& h : *hits) {
      if (h.id == id) {
        EXPECT_NEAR(h.score, Dot(Vec(id), data[id]), 1e-5);
      }
    }
  }
  // A third dead: compaction (retrain) runs; results stay exact.
  EXPECT_GE((*ix)->Stats().builds, 2u);
  for (uint64_t qid = 1; qid <= 20; ++qid) {
    std::vector<float> q = Vec(qid * 31, 3);
    auto hits = (*ix)->Search(q, 10, nullptr);
    ExpectSameAsExact(*hits, Exact(data, q, 10, nullptr), data, q);
  }
}

// A SmallAnn() index probing `nprobe` lists, of ids 1..n (vectors Vec(id)),
// mirrored in `data`; null on error.
std::unique_ptr<TieredIndex> Filled(int nprobe, uint64_t n, Data* data) {
  TieredOptions o = SmallAnn();
  o.nprobe = nprobe;
  auto ix = TieredIndex::Open(kDim, o);
  if (!ix.ok()) return nullptr;
  for (uint64_t id = 1; id <= n; ++id) {
    (*data)[id] = Vec(id);
    if (!(*ix)->Add(id, (*data)[id]).ok()) return nullptr;
  }
  return std::move(*ix);
}

// Filters of at most 2,000 ids are scored id by id, whatever the probe.
TEST(TieredIndexTest, FilteredSearchFillsThePage) {
  Data data;
  std::unique_ptr<TieredIndex> ix = Filled(/*nprobe=*/2, 3000, &data);
  ASSERT_NE(ix, nullptr);
  for (int every : {2, 10, 100, 1000}) {
    Roaring64Map allowed;
    for (uint64_t id = 1; id <= 3000; id += every) allowed.add(id);
    allowed.add(uint64_t(99999));  // not in the index: ignored
    for (uint64_t qid = 1; qid <= 10; ++qid) {
      std::vector<float> q = Vec(qid * 13, 8);
      auto hits = ix->Search(q, 10, &allowed);
      ASSERT_TRUE(hits.ok());
      auto ref = Exact(data, q, 10, &allowed);
      ASSERT_EQ(hits->size(), ref.size()) << "every " << every;
      for (const Hit& h : *hits) ASSERT_TRUE(allowed.contains(h.id));
    }
  }
}

// Filters too wide to score id by id go through the ANN tier, whose probe
// widens (and doubles) until the page is full; mid-sized ones that cost less
// than that probe are scored exactly.
TEST(TieredIndexTest, WideFiltersGoThroughTheAnnTierAndFillThePage) {
  Data data;
  std::unique_ptr<TieredIndex> ix = Filled(/*nprobe=*/1, 20000, &data);
  ASSERT_NE(ix, nullptr);
  ix->WaitIdle();
  ASSERT_TRUE(ix->Stats().ann);
  // every 2, nprobe 1: 3 x 10,000 ids > the ~2,500 codes of a 2-list probe
  // -> ANN (1,250 matches < 2,000 candidates: the probe doubles).
  // every 8, nprobe 4: 3 x 2,500 ids <= the ~15,000 codes of a 12-list probe
  // -> exact.
  for (auto [every, ann] : {std::pair{2, true}, std::pair{8, false}}) {
    ix->SetSearchKnobs(ann ? 1 : 4, 200);
    Roaring64Map allowed;
    for (uint64_t id = 1; id <= 20000; id += every) allowed.add(id);
    const TieredStats before = ix->Stats();
    double found = 0;
    for (uint64_t qid = 1; qid <= 20; ++qid) {
      std::vector<float> q = Vec(qid * 31, 9);
      auto hits = ix->Search(q, 10, &allowed);
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), 10u) << "every " << every;
      auto ref = Exact(data, q, 10, &allowed);
      for (const Hit& h : *hits) {
        ASSERT_TRUE(allowed.contains(h.id));
        EXPECT_NEAR(h.score, Dot(q, data[h.id]), 1e-5);
        found += h.score >= ref.back().first - 1e-6;
      }
    }
    const TieredStats after = ix->Stats();
    EXPECT_EQ(after.ann_filtered_searches - before.ann_filtered_searches, ann ? 20u : 0u);
    EXPECT_EQ(after.subset_searches - before.subset_searches, ann ? 0u : 20u);
    EXPECT_GE(found / 200, ann ? 0.9 : 1.0) << "every " << every;
  }
}

// More lists than a flat quantizer serves (kFlatCoarseMax): two-level k-means and an HNSW
// graph over the centroids. Results keep their recall and exact scores, a rare filter
// widens the probe past the graph to every list and still fills the page, and a snapshot
// brings the graph back.
TEST(TieredIndexTest, HnswCoarseQuantizerBeyondFlatLists) {
  fs::path dir = TempDir("hnsw");
  TieredOptions o = SmallAnn();
  o.dir = dir.string();
  o.exact_max = 15000;  // one training, at 15,000
  o.merge_rows = 5000;
  o.nlist = 4096;
  o.nprobe = 128;  // x 2 (4,096 lists): 256 probes, through the graph
  Data data;
  auto check = [&](TieredIndex& ix, std::vector<std::vector<Hit>>* out) {
    double found = 0;
    for (uint64_t qid = 1; qid <= 20; ++qid) {
      std::vector<float> q = Vec(qid * 7919, 5);
      auto hits = ix.Search(q, 10, nullptr);
      ASSERT_TRUE(hits.ok()) << hits.status();
      ASSERT_EQ(hits->size(), 10u);
      auto ref = Exact(data, q, 10, nullptr);
      for (const Hit& h : *hits) {
        EXPECT_NEAR(h.score, Dot(q, data[h.id]), 1e-5);
        found += h.score >= ref.back().first - 1e-6;
      }
      out->push_back(*hits);
    }
    EXPECT_GE(found / 200, 0.9);
  };
  std::vector<std::vector<Hit>> before, after;
  {
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    for (uint64_t id = 1; id <= 20000; ++id) {
      data[id] = Vec(id);
      ASSERT_TRUE((*ix)->Put(id, data[id], id).ok());
    }
    (*ix)->WaitIdle();
    const TieredStats st = (*ix)->Stats();
    ASSERT_TRUE(st.ann);
    EXPECT_GT(st.nlist, 2048);
    EXPECT_LE(st.nlist, 4096);
    check(**ix, &before);
    // 1 id in 3: through the ANN tier (not cheaper id by id), probe widened to every list.
    (*ix)->SetSearchKnobs(1, 200);
    Roaring64Map allowed;
    for (uint64_t id = 1; id <= 20000; id += 3) allowed.add(id);
    for (uint64_t qid = 1; qid <= 5; ++qid) {
      auto hits = (*ix)->Search(Vec(qid * 31, 9), 10, &allowed);
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), 10u);
      for (const Hit& h : *hits) EXPECT_TRUE(allowed.contains(h.id));
    }
    EXPECT_EQ((*ix)->Stats().ann_filtered_searches, 5u);
    (*ix)->SetSearchKnobs(o.nprobe, o.rerank);
    ASSERT_TRUE((*ix)->Snapshot().ok());
  }
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  const TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.restored);
  EXPECT_GT(st.nlist, 2048);
  check(**ix, &after);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    for (size_t j = 0; j < before[i].size(); ++j) EXPECT_EQ(before[i][j].id, after[i][j].id);
  }
  fs::remove_all(dir);
}

TEST(TieredIndexTest, BackgroundWorkWhileWritingAndSearching) {
  Executor executor({.threads = 2, .name = "test-index"});
  TieredOptions o = SmallAnn();
  o.executor = &executor;
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<uint64_t> removed_upto{0};
  std::thread searcher([&] {
    while (!done) {
      uint64_t upto = removed_upto;
      auto hits = (*ix)->Search(Vec(5, 1), 10, nullptr);
      if (!hits.ok()) ++bad;
      for (const Hit& h : *hits) bad += (h.id % 5 == 0 && h.id <= upto);
    }
  });
  Data data;
  for (uint64_t id = 1; id <= 4000; ++id) {
    ASSERT_TRUE((*ix)->Add(id, Vec(id)).ok());
    if (id % 5 == 0) {
      ASSERT_TRUE((*ix)->Remove(id));
      removed_upto = id;
    } else {
      data[id] = Vec(id);
    }
  }
  (*ix)->WaitIdle();
  done = true;
  searcher.join();
  EXPECT_EQ(bad.load(), 0);
  TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.ann);
  EXPECT_EQ(st.live, data.size());
  for (uint64_t qid = 1; qid <= 20; ++qid) {
    std::vector<float> q = Vec(qid * 101, 4);
    auto hits = (*ix)->Search(q, 10, nullptr);
    ExpectSameAsExact(*hits, Exact(data, q, 10, nullptr), data, q);
  }
}

// A page deeper than the index costs no more than the index: every buffer is sized from
// k clamped to the live rows (before: k = 2^40 made the exact tier reserve 2^40 hits and
// the ANN tier 2^40 candidates, bad_alloc; the engine and the v1 surface cap offset +
// limit at 1000 too).
TEST(TieredIndexTest, HugeKCostsNoMoreThanTheRows) {
  auto ix = TieredIndex::Open(kDim, SmallAnn());
  ASSERT_TRUE(ix.ok());
  for (uint64_t id = 1; id <= 50; ++id) ASSERT_TRUE((*ix)->Put(id, Vec(id), 1).ok());
  auto hits = (*ix)->Search(Vec(1), size_t(1) << 40, nullptr);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(hits->size(), 50u);
  for (uint64_t id = 51; id <= 600; ++id) ASSERT_TRUE((*ix)->Put(id, Vec(id), 1).ok());
  ASSERT_TRUE((*ix)->Stats().ann);
  hits = (*ix)->Search(Vec(1), size_t(1) << 40, nullptr);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(hits->size(), 600u);
}

TEST(TieredIndexTest, ExactTierCompactsDeadRows) {
  TieredOptions o = SmallAnn();
  o.exact_max = 100000;
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  for (int round = 0; round < 30; ++round) {
    for (uint64_t id = 1; id <= 100; ++id) ASSERT_TRUE((*ix)->Put(id, Vec(id, round), round).ok());
  }
  TieredStats st = (*ix)->Stats();
  EXPECT_EQ(st.live, 100u);
  EXPECT_LT(st.rows, 1200u);  // 3000 rows written, the dead ones rewritten away
  EXPECT_TRUE((*ix)->HasVersion(7, 29));
  EXPECT_FALSE((*ix)->HasVersion(7, 28));
  auto hits = (*ix)->Search(Vec(7, 29), 1, nullptr);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].id, 7u);
}

TEST(TieredIndexTest, SnapshotRestoresAndReplaysOnlyWhatCameAfter) {
  fs::path dir = TempDir("snap");
  TieredOptions o = SmallAnn();
  o.dir = dir.string();
  Data data;
  {
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    EXPECT_FALSE((*ix)->Stats().restored);
    for (uint64_t id = 1; id <= 800; ++id) {
      data[id] = Vec(id);
      ASSERT_TRUE((*ix)->Put(id, data[id], id).ok());
    }
    (*ix)->Remove(10);
    data.erase(10);
    ASSERT_TRUE((*ix)->Snapshot().ok());
  }  // closing writes nothing new
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.restored);
  EXPECT_TRUE(st.ann);
  EXPECT_EQ(st.live, 799u);
  EXPECT_GT(st.disk_bytes, 800u * kDim * 4);
  EXPECT_TRUE((*ix)->HasVersion(5, 5));
  EXPECT_FALSE((*ix)->HasVersion(5, 6));
  EXPECT_FALSE((*ix)->Contains(10));
  (*ix)->WaitIdle();  // the worker read the restored vector file once
  EXPECT_EQ((*ix)->Stats().preloaded_bytes, 800 * RowBytes(kDim));
  // The caller's replay: ids the store no longer has go.
  Roaring64Map live;
  for (const auto& [id, v] : data) live.add(id);
  live.remove(uint64_t(20));
  data.erase(20);
  EXPECT_EQ((*ix)->RetainOnly(live), 1u);
  for (uint64_t qid = 1; qid <= 20; ++qid) {
    std::vector<float> q = Vec(qid * 17, 2);
    auto hits = (*ix)->Search(q, 10, nullptr);
    ExpectSameAsExact(*hits, Exact(data, q, 10, nullptr), data, q);
  }
  fs::remove_all(dir);
}

// index.vector_bits = 8: the vector file holds 4 + dim bytes a row, and a 16-bit twin
// re-scores the best candidates, so results carry the 16-bit scores. Reopening with the
// other format discards the snapshot (the caller replays its store), reopening with the
// same one restores it.
TEST(TieredIndexTest, EightBitVectorFileAndSwitchingFormats) {
  fs::path dir = TempDir("bits");
  TieredOptions o = SmallAnn();
  o.dir = dir.string();
  o.vector_bits = 8;
  Data data;
  {
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    for (uint64_t id = 1; id <= 800; ++id) {
      data[id] = Vec(id);
      ASSERT_TRUE((*ix)->Put(id, data[id], id).ok());
    }
    double found = 0;
    for (uint64_t qid = 1; qid <= 20; ++qid) {
      std::vector<float> q = Vec(qid * 17, 3);
      auto hits = (*ix)->Search(q, 10, nullptr);
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), 10u);
      auto ref = Exact(data, q, 10, nullptr);
      for (const Hit& h : *hits) {
        EXPECT_NEAR(h.score, Dot(q, data[h.id]), 1e-5);  // from the 16-bit twin
        found += h.score >= ref.back().first - 1e-6;
      }
    }
    EXPECT_GE(found / 200, 0.95);
    ASSERT_TRUE((*ix)->Snapshot().ok());
  }
  EXPECT_TRUE(fs::exists(dir / "vectors-1.q8"));
  EXPECT_FALSE(fs::exists(dir / "vectors-1.q16"));
  EXPECT_EQ(fs::file_size(dir / "vectors-1.q8"), 800u * RowBytes(kDim, RowBits::k8));
  EXPECT_EQ(fs::file_size(dir / "vectors-1.r16"), 800u * RowBytes(kDim));
  {
    auto same = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(same.ok());
    EXPECT_TRUE((*same)->Stats().restored);
    EXPECT_EQ((*same)->size(), 800u);
    std::vector<float> q = Vec(5, 3);
    auto hits = (*same)->Search(q, 10, nullptr);
    ASSERT_TRUE(hits.ok());
    for (const Hit& h : *hits) EXPECT_NEAR(h.score, Dot(q, data[h.id]), 1e-5);
  }
  o.vector_bits = 16;
  auto other = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->Stats().restored);
  EXPECT_EQ((*other)->size(), 0u);  // rebuilt from the store by the caller
  EXPECT_FALSE(fs::exists(dir / "vectors-1.q8"));
  EXPECT_FALSE(fs::exists(dir / "vectors-1.r16"));
  o.vector_bits = 12;
  EXPECT_FALSE(TieredIndex::Open(kDim, o).ok());
  fs::remove_all(dir);
}

// A closed, persisted SmallAnn() index of ids 1..500 in `dir` (its ANN tier
// trained), whose snapshot.meta then gets `n` bytes overwritten at `at`.
void SnapshotThenOverwrite(const TieredOptions& o, std::streamoff at, const void* bytes, size_t n) {
  {
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    for (uint64_t id = 1; id <= 500; ++id) ASSERT_TRUE((*ix)->Put(id, Vec(id), 1).ok());
  }
  const fs::path meta = fs::path(o.dir) / "snapshot.meta";
  ASSERT_TRUE(fs::exists(meta));
  std::fstream f(meta, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  f.write(static_cast<const char*>(bytes), std::streamsize(n));
}

TEST(TieredIndexTest, CorruptSnapshotIsDiscardedNotTrusted) {
  fs::path dir = TempDir("corrupt");
  TieredOptions o = SmallAnn();
  o.dir = dir.string();
  const char garbage = 0x5a;
  SnapshotThenOverwrite(o, 200, &garbage, 1);
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  EXPECT_FALSE((*ix)->Stats().restored);
  EXPECT_EQ((*ix)->size(), 0u);  // the caller replays the store
  fs::remove_all(dir);
}

// The vector file has its rows' CRC-32 in the snapshot (format 3): damaged rows are never
// served (before: random bytes scored 1.0, a NaN scale made `sim` null); the snapshot is
// discarded and the caller rebuilds from the store.
TEST(TieredIndexTest, DamagedVectorFileIsRebuilt) {
  for (const bool nan_scale : {false, true}) {
    fs::path dir = TempDir(nan_scale ? "vecnan" : "vecflip");
    TieredOptions o = SmallAnn();
    o.dir = dir.string();
    SnapshotThenOverwrite(o, 0, nullptr, 0);  // a clean snapshot of ids 1..500
    fs::path vectors;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".q16") vectors = e.path();
    }
    ASSERT_FALSE(vectors.empty());
    {
      std::fstream f(vectors, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(std::streamoff(RowBytes(kDim) * 42));  // row 42's scale
      const float nan = std::nanf("");
      const char noise[4] = {0x11, 0x22, 0x33, 0x44};
      f.write(nan_scale ? reinterpret_cast<const char*>(&nan) : noise, 4);
    }
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    EXPECT_FALSE((*ix)->Stats().restored);
    EXPECT_EQ((*ix)->size(), 0u);  // the caller replays the store
    ix->reset();
    fs::remove_all(dir);
  }
}

TEST(TieredIndexTest, OlderFormatIsDiscardedAndItsFilesRemoved) {
  fs::path dir = TempDir("format");
  TieredOptions o = SmallAnn();
  o.dir = dir.string();
  // Format 1 (float32 vector files): the format word follows the 8-byte magic.
  const uint32_t one = 1;
  SnapshotThenOverwrite(o, 8, &one, sizeof(one));
  std::ofstream(dir / "vectors-1.f32") << "float32 rows of format 1";
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  EXPECT_FALSE((*ix)->Stats().restored);
  EXPECT_EQ((*ix)->size(), 0u);  // the caller replays the store
  EXPECT_FALSE(fs::exists(dir / "vectors-1.f32"));
  EXPECT_FALSE(fs::exists(dir / "snapshot.meta"));
  ix->reset();
  fs::remove_all(dir);
}

TEST(TieredIndexTest, KillNineMidTrainingLeavesAConsistentSnapshot) {
  fs::path dir = TempDir("kill");
  TieredOptions o;
  o.dir = dir.string();
  o.exact_max = 2000;
  o.merge_rows = 500;
  for (int round = 0; round < 3; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child's own pool: threads do not survive fork().
      Executor executor({.threads = 2, .name = "test-index"});
      o.executor = &executor;
      auto ix = TieredIndex::Open(kDim, o);
      if (!ix.ok()) _exit(3);
      // Versions say which round wrote a vector: Vec(id, version).
      for (uint64_t id = 1;; ++id) {
        uint64_t v = uint64_t(round) * 1000000 + id;
        if (!(*ix)->Put(id % 20000 + 1, Vec(id % 20000 + 1, v), v).ok()) _exit(4);
      }
    }
    usleep(400000 + round * 300000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
    Executor executor({.threads = 2, .name = "test-index"});
    o.executor = &executor;
    auto ix = TieredIndex::Open(kDim, o);
    ASSERT_TRUE(ix.ok());
    // Whatever the snapshot holds must be exactly what was written: every
    // live id searched with its own vector finds itself at score ~1.
    TieredStats st = (*ix)->Stats();
    size_t checked = 0;
    for (uint64_t id = 1; id <= 20000 && checked < 200; id += 97) {
      if (!(*ix)->Contains(id)) continue;
      uint64_t version = 0;
      for (uint64_t r = 0; r <= uint64_t(round) && !version; ++r) {
        for (uint64_t n = id - 1; n < 2000000; n += 20000) {
          if ((*ix)->HasVersion(id, r * 1000000 + n)) {
            version = r * 1000000 + n;
            break;
          }
        }
      }
      ASSERT_NE(version, 0u) << "id " << id << " has a version nobody wrote";
      auto hits = (*ix)->Search(Vec(id, version), 1, nullptr);
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), 1u);
      EXPECT_EQ((*hits)[0].id, id)
          << "score " << (*hits)[0].score << " round " << round << " ann " << st.ann << " rows "
          << st.rows << " built " << st.ann_rows << " live " << st.live;
      EXPECT_NEAR((*hits)[0].score, 1.0f, 1e-4);
      ++checked;
    }
    if (st.restored) {
      EXPECT_GT(checked, 0u);
    }
  }
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace iss::index

namespace iss::index {
namespace {

TEST(TieredIndexTest, ReopenWithSmallerExactMaxTrainsInTheBackground) {
  fs::path dir = TempDir("reopen");
  Executor executor({.threads = 2, .name = "test-index"});
  TieredOptions o;
  o.executor = &executor;
  o.dir = dir.string();
  o.exact_max = 100000;
  {
    auto ix = TieredIndex::Open(kDim, o);
    for (uint64_t id = 1; id <= 443; ++id) ASSERT_TRUE((*ix)->Put(id, Vec(id), id).ok());
  }
  o.exact_max = 64;
  auto ix = TieredIndex::Open(kDim, o);
  ASSERT_TRUE(ix.ok());
  (*ix)->WaitIdle();
  TieredStats st = (*ix)->Stats();
  EXPECT_TRUE(st.restored);
  EXPECT_TRUE(st.ann);
  EXPECT_EQ(st.live, 443u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace iss::index
