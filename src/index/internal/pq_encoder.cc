// PqEncoder. Faiss 1.7.3's ProductQuantizer::compute_code calls fvec_L2sqr_ny_nearest, which
// in a build without SSE3 (Debian's) is the reference loop: for each centroid, res = 0;
// res += (x[j] - c[j])^2 for j in order; the first centroid with the smallest res wins
// (starting from HUGE_VALF). The kernel below does exactly those float operations, in that
// order, for 256 centroids at once (lanes over centroids never reorder a sum). It must not
// be compiled with FMA contraction or reassociation (-ffast-math): either would change the
// rounding, hence ties, hence codes. The AVX2 variant enables AVX2 only, not FMA.
#include "index/internal/pq_encoder.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>

#include <algorithm>
#include <cmath>

#include "index/internal/tiers.h"

namespace iss::index::internal {
namespace {

constexpr int kKsub = 256;
constexpr int kStackDim = 4096;  // residuals up to this many floats live on the stack

// The scalar reference's arithmetic for one vector; r: its residual (d floats).
inline __attribute__((always_inline)) void EncodeResidual(const float* r, int m_count, int dsub,
                                                          const float* table, uint8_t* code) {
  alignas(32) float acc[kKsub];
  for (int m = 0; m < m_count; ++m) {
    std::fill_n(acc, kKsub, 0.0f);
    for (int j = 0; j < dsub; ++j) {
      const float rj = r[m * dsub + j];
      const float* row = table + (size_t(m) * dsub + j) * kKsub;
      for (int k = 0; k < kKsub; ++k) {
        const float t = rj - row[k];
        acc[k] += t * t;
      }
    }
    int best = 0;
    float best_d = HUGE_VALF;
    for (int k = 0; k < kKsub; ++k) {
      if (acc[k] < best_d) {
        best_d = acc[k];
        best = k;
      }
    }
    code[m] = uint8_t(best);
  }
}

__attribute__((target("avx2"))) void EncodeResidualAvx2(const float* r, int m_count, int dsub,
                                                        const float* table, uint8_t* code) {
  EncodeResidual(r, m_count, dsub, table, code);
}

void EncodeResidualGeneric(const float* r, int m_count, int dsub, const float* table,
                           uint8_t* code) {
  EncodeResidual(r, m_count, dsub, table, code);
}

}  // namespace

PqEncoder::PqEncoder(const faiss::IndexIVFPQ& ivf, bool allow_simd)
    : d_(int(ivf.d)),
      m_(int(ivf.pq.M)),
      dsub_(int(ivf.pq.dsub)),
      centroids_(Centroids(ivf)),
      simd_(allow_simd && __builtin_cpu_supports("avx2")) {
  const auto& c = ivf.pq.centroids;  // (M, 256, dsub)
  table_.resize(size_t(m_) * dsub_ * kKsub);
  for (int m = 0; m < m_; ++m) {
    for (int k = 0; k < kKsub; ++k) {
      for (int j = 0; j < dsub_; ++j) {
        table_[(size_t(m) * dsub_ + j) * kKsub + k] = c[(size_t(m) * kKsub + k) * dsub_ + j];
      }
    }
  }
}

void PqEncoder::Encode(const float* x, const int64_t* lists, size_t n, uint8_t* codes) const {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) EncodeOne(x + i * d_, lists[i], codes + i * m_);
}

void PqEncoder::EncodeOne(const float* x, int64_t list, uint8_t* code) const {
  float stack[kStackDim];
  std::vector<float> heap(d_ > kStackDim ? d_ : 0);
  float* r = d_ > kStackDim ? heap.data() : stack;
  // As IndexFlat::compute_residual: x - centroid, one float subtraction a component.
  const float* centre = list >= 0 ? centroids_ + size_t(list) * d_ : nullptr;
  for (int j = 0; j < d_; ++j) r[j] = centre ? x[j] - centre[j] : x[j];
  (simd_ ? EncodeResidualAvx2 : EncodeResidualGeneric)(r, m_, dsub_, table_.data(), code);
}

}  // namespace iss::index::internal
