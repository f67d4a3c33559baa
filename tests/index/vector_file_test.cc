// VectorFile and its half-float kernels: rounding error bounds, saturation,
// the dot product against a double-precision reference, rows kept across a
// reopen and cut at the snapshot's row count.
#include "index/vector_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

namespace iss::index {
namespace {

namespace fs = std::filesystem;

std::vector<float> Unit(int dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(dim);
  double norm = 0;
  for (float& x : v) {
    x = std::max(0.0f, g(rng));  // non-negative, like ReLU features
    norm += double(x) * x;
  }
  for (float& x : v) x = float(x / std::sqrt(norm));
  return v;
}

TEST(VectorFileTest, HalfRoundTripIsWithinHalfAnUlp) {
  std::vector<float> in = Unit(577, 1);  // odd length: the vector and the tail paths
  in.push_back(1.0f);
  in.push_back(-3.14159f);
  in.push_back(1e-7f);  // subnormal in half precision
  std::vector<uint16_t> half(in.size());
  std::vector<float> out(in.size());
  ToHalf(in.data(), half.data(), int(in.size()));
  FromHalf(half.data(), out.data(), int(out.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    // 11 significant bits: relative error <= 2^-11, absolute 2^-25 near zero.
    EXPECT_NEAR(out[i], in[i], std::max(std::fabs(in[i]) * 4.9e-4f, 3e-8f)) << i;
  }
}

TEST(VectorFileTest, OutOfRangeValuesSaturateAndNanBecomesZero) {
  std::vector<float> in(16, 0.5f);
  in[0] = 1e9f;
  in[1] = -1e9f;
  in[2] = std::numeric_limits<float>::infinity();
  in[3] = std::numeric_limits<float>::quiet_NaN();
  in[12] = std::numeric_limits<float>::quiet_NaN();  // tail path
  std::vector<uint16_t> half(in.size());
  std::vector<float> out(in.size());
  ToHalf(in.data(), half.data(), int(in.size()));
  FromHalf(half.data(), out.data(), int(out.size()));
  EXPECT_EQ(out[0], 65504.0f);
  EXPECT_EQ(out[1], -65504.0f);
  EXPECT_EQ(out[2], 65504.0f);
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[12], 0.0f);
  EXPECT_EQ(out[4], 0.5f);
}

TEST(VectorFileTest, DotMatchesDoublePrecisionOverTheStoredRow) {
  for (int dim : {7, 48, 576, 2048}) {
    std::vector<float> q = Unit(dim, 10 + dim), v = Unit(dim, 20 + dim);
    std::vector<uint16_t> half(dim);
    std::vector<float> kept(dim);
    ToHalf(v.data(), half.data(), dim);
    FromHalf(half.data(), kept.data(), dim);
    double ref = 0, exact = 0;
    for (int i = 0; i < dim; ++i) {
      ref += double(q[i]) * kept[i];
      exact += double(q[i]) * v[i];
    }
    EXPECT_NEAR(DotHalf(q.data(), half.data(), dim), ref, 1e-6) << dim;
    // What half precision costs a unit-vector score against float32.
    EXPECT_NEAR(DotHalf(q.data(), half.data(), dim), exact, 5e-4) << dim;
  }
}

TEST(VectorFileTest, RowsPersistAndReopenCutsToTheKeptCount) {
  const fs::path path =
      fs::temp_directory_path() / ("iss-vector-file-" + std::to_string(getpid()) + ".f16");
  fs::remove(path);
  constexpr int kDim = 40;
  std::vector<std::vector<float>> rows;
  {
    auto f = VectorFile::Open(path.string(), kDim, 0);
    ASSERT_TRUE(f.ok()) << f.status();
    for (int r = 0; r < 5000; ++r) {  // crosses several map growths
      rows.push_back(Unit(kDim, 100 + r));
      ASSERT_TRUE((*f)->Append(rows.back().data()).ok());
    }
    ASSERT_TRUE((*f)->Sync().ok());
    EXPECT_EQ((*f)->FileBytes(), 5000u * kDim * 2);
  }
  EXPECT_FALSE(VectorFile::Open(path.string(), kDim, 5001).ok());  // fewer rows than asked
  auto f = VectorFile::Open(path.string(), kDim, 4000);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->rows(), 4000u);
  EXPECT_EQ(fs::file_size(path), 4000u * kDim * 2);
  std::vector<float> back(kDim);
  for (int r : {0, 1, 2047, 3999}) {
    (*f)->Read(r, back.data());
    for (int i = 0; i < kDim; ++i) EXPECT_NEAR(back[i], rows[r][i], 4.9e-4f * rows[r][i] + 3e-8f);
    EXPECT_NEAR((*f)->Dot(rows[r].data(), r), 1.0f, 1e-3);
  }
  // Whole half rows append as they are.
  ASSERT_TRUE((*f)->AppendHalf((*f)->Row(7)).ok());
  EXPECT_EQ((*f)->rows(), 4001u);
  EXPECT_EQ(std::memcmp((*f)->Row(4000), (*f)->Row(7), kDim * 2), 0);
  f->reset();
  fs::remove(path);
}

}  // namespace
}  // namespace iss::index
