// PqEncoder: the IVF-PQ tier's residual encoder (8-bit sub-quantizers), laid out so the
// compiler vectorises over the 256 centroids. Faiss 1.7.3 encodes sub-vectors under 16
// dimensions one scalar distance at a time, ~8x slower; the codes are the same (nearest
// centroid of each residual sub-vector).
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
struct IndexFlat;
struct IndexIVFPQ;
}  // namespace faiss

namespace iss::index::internal {

class PqEncoder {
 public:
  // REQUIRES: `ivf` trained, with 8-bit PQ and a flat coarse quantizer.
  explicit PqEncoder(const faiss::IndexIVFPQ& ivf);

  // codes[i * M, (i + 1) * M) <- the PQ code of x_i (d floats) minus the centroid of list
  // lists[i] (x_i itself when lists[i] < 0).
  void Encode(const float* x, const int64_t* lists, size_t n, uint8_t* codes) const;

 private:
  void EncodeOne(const float* x, int64_t list, uint8_t* code) const;

  const int d_, m_, dsub_;
  const faiss::IndexFlat* coarse_;
  std::vector<float> table_;  // (M, dsub, 256)
  std::vector<float> norms_;  // (M, 256)
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_PQ_ENCODER_H_
