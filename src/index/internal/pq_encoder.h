// PqEncoder: the IVF-PQ tier's residual encoder (8-bit sub-quantizers). Faiss 1.7.3 (Debian's
// generic build, no SSE3) scores the 256 centroids of a sub-quantizer one scalar distance
// at a time (ProductQuantizer::compute_code); this encoder computes the very same float
// distances, vectorised over the centroids, so its codes are byte-identical to Faiss's
// single-vector encoding (IndexIVFPQ::encode) for every sub-vector width, and to the batch
// encoding (IndexIVFPQ::encode_vectors) for sub-vectors under 16 dimensions, where Faiss
// batches with the same kernel (pq_encoder_test.cc). From 16 dimensions on Faiss batches
// through BLAS distance tables, whose rounding (and so a near-tie's winner) depends on the
// batch; our codes then stay those of the single-vector path.
//
//   const PqEncoder encoder(ivf);                      // ivf trained, coarse quantizer flat
//   ivf.quantizer->assign(n, x, lists.data());
//   encoder.Encode(x, lists.data(), n, codes.data());  // n x ivf.code_size bytes
//
// Thread contract: immutable after construction; Encode() may run on any number of threads
// (it uses OpenMP itself). The IndexIVFPQ must outlive the encoder and not change meanwhile.
#ifndef ISS_INDEX_INTERNAL_PQ_ENCODER_H_
#define ISS_INDEX_INTERNAL_PQ_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace faiss {
struct IndexIVFPQ;
}  // namespace faiss

namespace iss::index::internal {

class PqEncoder {
 public:
  // REQUIRES: `ivf` trained, with 8-bit PQ and a flat coarse quantizer.
  // `allow_simd` false: the portable kernel even where the CPU has AVX2 (tests).
  explicit PqEncoder(const faiss::IndexIVFPQ& ivf, bool allow_simd = true);

  // codes[i * M, (i + 1) * M) <- the PQ code of x_i (d floats) minus the centroid of list
  // lists[i] (x_i itself when lists[i] < 0), as IndexIVFPQ::encode(lists[i], x_i) does.
  void Encode(const float* x, const int64_t* lists, size_t n, uint8_t* codes) const;

 private:
  void EncodeOne(const float* x, int64_t list, uint8_t* code) const;

  const int d_, m_, dsub_;
  const float* centroids_;  // the coarse centroids (nlist x d)
  const bool simd_;
  std::vector<float> table_;  // (M, dsub, 256): the sub-quantizers' centroids, transposed
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_PQ_ENCODER_H_
