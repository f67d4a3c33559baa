#include "index/internal/pq_encoder.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>

#include <algorithm>

namespace iss::index::internal {

PqEncoder::PqEncoder(const faiss::IndexIVFPQ& ivf)
    : d_(int(ivf.d)),
      m_(int(ivf.pq.M)),
      dsub_(int(ivf.pq.dsub)),
      coarse_(dynamic_cast<const faiss::IndexFlat*>(ivf.quantizer)) {
  const auto& c = ivf.pq.centroids;  // (M, 256, dsub)
  table_.resize(size_t(m_) * dsub_ * 256);
  norms_.assign(size_t(m_) * 256, 0.0f);
  for (int m = 0; m < m_; ++m) {
    for (int k = 0; k < 256; ++k) {
      for (int j = 0; j < dsub_; ++j) {
        const float v = c[(size_t(m) * 256 + k) * dsub_ + j];
        table_[(size_t(m) * dsub_ + j) * 256 + k] = v;
        norms_[size_t(m) * 256 + k] += v * v;
      }
    }
  }
}

void PqEncoder::Encode(const float* x, const int64_t* lists, size_t n, uint8_t* codes) const {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) EncodeOne(x + i * d_, lists[i], codes + i * m_);
}

// AVX2 where the CPU has it (chosen at run time), SSE2 otherwise.
__attribute__((target_clones("avx2", "default"))) void PqEncoder::EncodeOne(const float* x,
                                                                            int64_t list,
                                                                            uint8_t* code) const {
  std::vector<float> r(x, x + d_);
  if (list >= 0) {
    const float* centre = coarse_->get_xb() + size_t(list) * d_;
    for (int j = 0; j < d_; ++j) r[j] -= centre[j];
  }
  alignas(32) float acc[256];
  for (int m = 0; m < m_; ++m) {
    std::fill_n(acc, 256, 0.0f);
    for (int j = 0; j < dsub_; ++j) {
      const float rj = r[size_t(m) * dsub_ + j];
      const float* row = table_.data() + (size_t(m) * dsub_ + j) * 256;
      for (int k = 0; k < 256; ++k) acc[k] += rj * row[k];
    }
    const float* norm = norms_.data() + size_t(m) * 256;
    int best = 0;
    float best_d = norm[0] - 2 * acc[0];
    for (int k = 1; k < 256; ++k) {
      const float dk = norm[k] - 2 * acc[k];
      if (dk < best_d) {
        best_d = dk;
        best = k;
      }
    }
    code[m] = uint8_t(best);
  }
}

}  // namespace iss::index::internal
