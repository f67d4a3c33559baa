// PqEncoder against Faiss's own encoding: for the same vectors and lists its codes are
// byte-identical to IndexIVFPQ::encode (ProductQuantizer::compute_code on the residual) and,
// for sub-vectors under 16 dimensions, to the batched IndexIVFPQ::encode_vectors; on random
// unit vectors, on vectors rotated by the index's PCA rotation (576-d, 96 bytes, as in
// production), and on residuals placed half-way between two centroids (near-ties, where any
// change in float arithmetic picks the other centroid), with the AVX2 and the portable
// kernel.
#include "index/internal/pq_encoder.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/VectorTransform.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

namespace iss::index::internal {
namespace {

using Idx = faiss::Index::idx_t;

std::vector<float> UnitVectors(size_t n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(n * d);
  for (size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int j = 0; j < d; ++j) {
      x[i * d + j] = g(rng);
      norm += double(x[i * d + j]) * x[i * d + j];
    }
    for (int j = 0; j < d; ++j) x[i * d + j] = float(x[i * d + j] / std::sqrt(norm));
  }
  return x;
}

// An IVF-PQ tier trained as the index trains its own (inner product, spherical k-means).
std::unique_ptr<faiss::IndexIVFPQ> Trained(const std::vector<float>& x, int d, int m) {
  auto ivf = std::make_unique<faiss::IndexIVFPQ>(new faiss::IndexFlatIP(d), d, 16, m, 8,
                                                 faiss::METRIC_INNER_PRODUCT);
  ivf->own_fields = true;
  ivf->cp.spherical = true;
  ivf->cp.min_points_per_centroid = 1;
  ivf->pq.cp.min_points_per_centroid = 1;
  ivf->pq.cp.max_points_per_centroid = 64;
  ivf->pq.cp.niter = 8;
  ivf->train(Idx(x.size() / d), x.data());
  return ivf;
}

// Ours (both kernels) against Faiss's for `x` in `lists`; returns the codes compared.
size_t ExpectSameCodes(const faiss::IndexIVFPQ& ivf, const std::vector<float>& x,
                       const std::vector<Idx>& lists) {
  const size_t n = lists.size(), cs = ivf.code_size;
  std::vector<uint8_t> single(n * cs), batch(n * cs);
  for (size_t i = 0; i < n; ++i) ivf.encode(lists[i], x.data() + i * ivf.d, single.data() + i * cs);
  ivf.encode_vectors(Idx(n), x.data(), lists.data(), batch.data());
  size_t batch_differs = 0;
  for (size_t i = 0; i < single.size(); ++i) batch_differs += single[i] != batch[i];
  if (ivf.pq.dsub < 16) {
    // Faiss batches with the single-vector kernel there: one answer.
    EXPECT_EQ(batch_differs, 0u) << "Faiss's own paths disagree, dsub " << ivf.pq.dsub;
  } else if (batch_differs > 0) {
    // BLAS distance tables: a near-tie's winner depends on the batch (not ours to match).
    std::printf(
        "dsub %zu: Faiss's batched codes differ from its single-vector codes in %zu of "
        "%zu\n",
        size_t(ivf.pq.dsub), batch_differs, single.size());
  }
  for (bool simd : {true, false}) {
    std::vector<uint8_t> ours(n * cs, 0xee);
    PqEncoder(ivf, simd).Encode(x.data(), lists.data(), n, ours.data());
    size_t differ = 0;
    for (size_t i = 0; i < ours.size(); ++i) differ += ours[i] != single[i];
    EXPECT_EQ(differ, 0u) << "d " << ivf.d << " M " << ivf.pq.M << " dsub " << ivf.pq.dsub
                          << (simd ? " (AVX2 kernel where the CPU has it)" : " (portable)");
    if (ivf.pq.dsub < 16) {
      EXPECT_TRUE(ours == batch);
    }
  }
  return single.size();
}

std::vector<Idx> Assign(const faiss::IndexIVFPQ& ivf, const std::vector<float>& x) {
  std::vector<Idx> lists(x.size() / ivf.d);
  ivf.quantizer->assign(Idx(lists.size()), x.data(), lists.data());
  return lists;
}

TEST(PqEncoderTest, RandomVectorsEncodeAsFaissDoes) {
  // Faiss batches dsub 4, 6 and 12 with its scalar kernel, 16 and 24 through BLAS.
  for (auto [d, m] : {std::pair{48, 12}, {48, 8}, {96, 8}, {64, 4}, {72, 3}}) {
    const std::vector<float> train = UnitVectors(2000, d, 1 + d * m);
    auto ivf = Trained(train, d, m);
    const std::vector<float> x = UnitVectors(2000, d, 2 + d * m);
    EXPECT_EQ(ExpectSameCodes(*ivf, x, Assign(*ivf, x)), 2000u * m);
  }
}

TEST(PqEncoderTest, RotatedVectorsEncodeAsFaissDoes) {
  // The index's space: PCA rotation with eigenvalue-balanced bins, no mean subtraction
  // (tiered index, maintenance.cc), 576-d with 96 sub-quantizers as in production.
  constexpr int d = 576, m = 96;
  std::vector<float> train = UnitVectors(2 * d, d, 7);
  faiss::PCAMatrix pca(d, d, 0, false);
  pca.balanced_bins = m;
  pca.train(Idx(train.size() / d), train.data());
  auto rotate = [&](std::vector<float> x) {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size() / d; ++i) {
      for (int r = 0; r < d; ++r) {
        float s = 0;
        for (int j = 0; j < d; ++j) s += pca.A[size_t(r) * d + j] * x[i * d + j];
        y[i * d + r] = s;
      }
    }
    return y;
  };
  train = rotate(std::move(train));
  auto ivf = Trained(train, d, m);
  const std::vector<float> x = rotate(UnitVectors(800, d, 8));
  EXPECT_EQ(ExpectSameCodes(*ivf, x, Assign(*ivf, x)), 800u * m);
}

TEST(PqEncoderTest, NearTiesPickTheCentroidFaissPicks) {
  // Each residual sub-vector half-way between two centroids of its sub-quantizer: the two
  // distances differ by rounding only.
  for (auto [d, m] : {std::pair{48, 12}, {48, 8}, {96, 8}, {64, 4}}) {
    auto ivf = Trained(UnitVectors(2000, d, 11 + d), d, m);
    const auto* coarse = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
    const int dsub = d / m;
    std::mt19937_64 rng(12 + d);
    constexpr size_t n = 2000;
    std::vector<float> x(n * d);
    std::vector<Idx> lists(n);
    for (size_t i = 0; i < n; ++i) {
      lists[i] = Idx(rng() % ivf->nlist);
      for (int s = 0; s < m; ++s) {
        const int a = int(rng() % 256), b = int(rng() % 256);
        const float* ca = ivf->pq.centroids.data() + (size_t(s) * 256 + a) * dsub;
        const float* cb = ivf->pq.centroids.data() + (size_t(s) * 256 + b) * dsub;
        for (int j = 0; j < dsub; ++j) {
          const int c = s * dsub + j;
          x[i * d + c] = coarse->get_xb()[size_t(lists[i]) * d + c] + 0.5f * (ca[j] + cb[j]);
        }
      }
    }
    EXPECT_EQ(ExpectSameCodes(*ivf, x, lists), n * m);
  }
}

}  // namespace
}  // namespace iss::index::internal
