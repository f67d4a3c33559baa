// Test data for the index suites: deterministic clustered unit vectors (like embeddings:
// neighbourhoods, not noise) and a fresh directory per test.
//
//   std::vector<float> v = testing::Vec(id, /*salt=*/0, /*dim=*/48);
//   std::string dir = testing::FreshDir("durability");
//
// Thread contract: pure functions (FreshDir touches only its own path).
#ifndef ISS_TESTS_INDEX_TEST_VECTORS_H_
#define ISS_TESTS_INDEX_TEST_VECTORS_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace iss::index::testing {

inline std::vector<float> Vec(uint64_t id, uint64_t salt, int dim) {
  std::mt19937_64 centre_rng(id % 37);
  std::mt19937_64 rng(id * 1000003 + salt);
  std::normal_distribution<float> centre, noise;  // one per engine: they cache
  std::vector<float> v(dim);
  double norm = 0;
  for (float& x : v) {
    x = centre(centre_rng) + 0.5f * noise(rng);
    norm += double(x) * x;
  }
  for (float& x : v) x = float(x / std::sqrt(norm));
  return v;
}

// An empty directory under the test's temporary directory, unique to this process.
inline std::string FreshDir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p =
      fs::path(::testing::TempDir()) / ("iss-index-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

}  // namespace iss::index::testing

#endif  // ISS_TESTS_INDEX_TEST_VECTORS_H_
