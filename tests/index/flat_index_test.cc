// FlatIndex against a brute-force reference computed here in plain C++.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <roaring/roaring64map.hh>
#include <thread>
#include <vector>

#include "common/status.h"
#include "index/vector_index.h"

namespace iss::index {
namespace {

std::vector<float> RandomUnit(std::mt19937& rng, int dim) {
  std::normal_distribution<float> n;
  std::vector<float> v(dim);
  double norm = 0;
  for (float& x : v) {
    x = n(rng);
    norm += double(x) * x;
  }
  for (float& x : v) x = float(x / std::sqrt(norm));
  return v;
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return float(s);
}

// Reference top-k over `data` restricted to `allowed` (all when null).
std::vector<uint64_t> BruteForce(const std::map<uint64_t, std::vector<float>>& data,
                                 const std::vector<float>& q, size_t k,
                                 const Roaring64Map* allowed) {
  std::vector<std::pair<float, uint64_t>> all;
  for (const auto& [id, v] : data) {
    if (allowed && !allowed->contains(id)) continue;
    all.push_back({Dot(q, v), id});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < all.size() && i < k; ++i) ids.push_back(all[i].second);
  return ids;
}

std::vector<uint64_t> Ids(const std::vector<Hit>& hits) {
  std::vector<uint64_t> ids;
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

class FlatIndexTest : public testing::TestWithParam<int> {};

TEST_P(FlatIndexTest, MatchesBruteForceThroughAddsReplacesAndRemoves) {
  const int dim = GetParam();
  std::mt19937 rng(dim);
  auto index = NewFlatIndex(dim);
  std::map<uint64_t, std::vector<float>> data;
  // Sparse 64-bit ids, beyond 32 bits.
  for (int i = 0; i < 500; ++i) {
    uint64_t id = (uint64_t(i) << 33) + 17 * i + 1;
    data[id] = RandomUnit(rng, dim);
    ASSERT_TRUE(index->Add(id, data[id]).ok());
  }
  EXPECT_EQ(index->size(), 500u);
  // Replace some, remove some.
  int n = 0;
  for (auto it = data.begin(); it != data.end(); ++n) {
    if (n % 7 == 0) {
      it->second = RandomUnit(rng, dim);
      ASSERT_TRUE(index->Add(it->first, it->second).ok());
      ++it;
    } else if (n % 5 == 0) {
      EXPECT_TRUE(index->Remove(it->first));
      EXPECT_FALSE(index->Contains(it->first));
      it = data.erase(it);
    } else {
      ++it;
    }
  }
  EXPECT_FALSE(index->Remove(12345));
  EXPECT_EQ(index->size(), data.size());
  for (int q = 0; q < 20; ++q) {
    std::vector<float> query = RandomUnit(rng, dim);
    auto hits = index->Search(query, 10, nullptr);
    ASSERT_TRUE(hits.ok()) << hits.status();
    EXPECT_EQ(Ids(*hits), BruteForce(data, query, 10, nullptr));
    for (size_t i = 0; i < hits->size(); ++i) {
      EXPECT_NEAR((*hits)[i].score, Dot(query, data[(*hits)[i].id]), 1e-5);
      if (i > 0) {
        EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
      }
    }
  }
  // A stored vector finds itself first with score ~1.
  const auto& [first_id, first_vec] = *data.begin();
  auto self = index->Search(first_vec, 1, nullptr);
  ASSERT_TRUE(self.ok());
  ASSERT_EQ(self->size(), 1u);
  EXPECT_EQ((*self)[0].id, first_id);
  EXPECT_NEAR((*self)[0].score, 1.0, 1e-5);
}

TEST_P(FlatIndexTest, FiltersLargeAndSmallAndEmpty) {
  const int dim = GetParam();
  std::mt19937 rng(100 + dim);
  auto index = NewFlatIndex(dim);
  std::map<uint64_t, std::vector<float>> data;
  for (uint64_t id = 1; id <= 1000; ++id) {
    data[id] = RandomUnit(rng, dim);
    ASSERT_TRUE(index->Add(id, data[id]).ok());
  }
  Roaring64Map half, few, none, stale;
  for (uint64_t id = 1; id <= 1000; id += 2) half.add(id);
  for (uint64_t id = 3; id <= 1000; id += 97) few.add(id);  // 11 ids: direct scan path
  stale.add(uint64_t{5000});                                // not in the index
  stale.add(uint64_t{7});
  for (int q = 0; q < 10; ++q) {
    std::vector<float> query = RandomUnit(rng, dim);
    for (const Roaring64Map* f : {&half, &few, &none, &stale}) {
      auto hits = index->Search(query, 20, f);
      ASSERT_TRUE(hits.ok());
      EXPECT_EQ(Ids(*hits), BruteForce(data, query, 20, f));
      for (const Hit& h : *hits) EXPECT_TRUE(f->contains(h.id));
    }
  }
  auto few_hits = index->Search(RandomUnit(rng, dim), 100, &few);
  ASSERT_TRUE(few_hits.ok());
  EXPECT_EQ(few_hits->size(),
            few.cardinality());  // fewer than k only when fewer qualify
}

INSTANTIATE_TEST_SUITE_P(Dims, FlatIndexTest, testing::Values(8, 576));

TEST(FlatIndexErrors, WrongDimensionsAndNonFiniteValues) {
  auto index = NewFlatIndex(4);
  absl::Status s = index->Add(1, {1, 0, 0});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(ReasonOf(s), Reason::kInvalidArgument);
  EXPECT_FALSE(index->Add(1, {NAN, 0, 0, 0}).ok());
  EXPECT_EQ(index->size(), 0u);
  ASSERT_TRUE(index->Add(1, {1, 0, 0, 0}).ok());
  auto hits = index->Search({1, 0}, 5, nullptr);
  EXPECT_FALSE(hits.ok());
  EXPECT_EQ(ReasonOf(hits.status()), Reason::kInvalidArgument);
}

TEST(FlatIndexErrors, EmptyIndexAndZeroK) {
  auto index = NewFlatIndex(4);
  auto hits = index->Search({1, 0, 0, 0}, 5, nullptr);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
  ASSERT_TRUE(index->Add(9, {0, 1, 0, 0}).ok());
  EXPECT_TRUE(index->Search({1, 0, 0, 0}, 0, nullptr)->empty());
  EXPECT_EQ(index->Search({1, 0, 0, 0}, 5, nullptr)->size(), 1u);
  EXPECT_GT(index->MemoryBytes(), 0u);
}

// Searches run while a writer adds and removes; every hit is a live-or-recent
// id and the scores stay ordered. Under TSan this also checks the locking.
TEST(FlatIndexThreads, SearchesDuringWrites) {
  const int dim = 32;
  auto index = NewFlatIndex(dim);
  std::mt19937 rng(5);
  std::vector<std::vector<float>> vecs;
  for (int i = 0; i < 400; ++i) vecs.push_back(RandomUnit(rng, dim));
  for (uint64_t id = 0; id < 200; ++id) ASSERT_TRUE(index->Add(id, vecs[id]).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 r(t);
      // Bounded work per reader: glibc's shared_mutex prefers readers, so
      // unbounded spinning readers could starve the writer on a 2-core machine.
      for (int n = 0; n < 300 && !stop; ++n) {
        auto hits = index->Search(vecs[r() % vecs.size()], 10, nullptr);
        if (!hits.ok() || hits->size() != 10) ++failures;
        for (size_t i = 1; hits.ok() && i < hits->size(); ++i) {
          if ((*hits)[i - 1].score < (*hits)[i].score) ++failures;
        }
      }
    });
  }
  for (int round = 0; round < 2000; ++round) {
    uint64_t id = 200 + round % 200;
    if (round % 2 == 0) {
      ASSERT_TRUE(index->Add(id, vecs[id]).ok());
    } else {
      index->Remove(id);
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace iss::index
