// Vectors of one gallery, searchable by inner product (cosine on L2-normalised
// vectors).
//
//   std::unique_ptr<index::VectorIndex> index = index::NewFlatIndex(576);
//   RETURN_IF_ERROR(index->Add(7, vec));     // replaces an existing id 7
//   ASSIGN_OR_RETURN(std::vector<index::Hit> hits, index->Search(query, 10, &allowed));
//
// This interface is the seam for issue 5's compressed, tiered index; FlatIndex
// is the exact implementation (brute force with Faiss's BLAS/SIMD inner-product
// kernels, the equivalent of IndexIDMap2 over IndexFlatIP with O(1) removal).
// Ids are the gallery's internal 64-bit image ids; `allowed` is a Roaring
// bitmap of ids (tag filters), handed to Faiss as an IDSelector, or scanned
// directly when it is small. Thread contract: every method is thread-safe.
// Search() takes a shared lock and runs concurrently with other searches; Add()
// and Remove() take an exclusive lock.
#ifndef ISS_INDEX_VECTOR_INDEX_H_
#define ISS_INDEX_VECTOR_INDEX_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

class Roaring64Map;  // CRoaring 0.7 (Debian 12) declares it in the global
                     // namespace

namespace iss::index {

struct Hit {
  uint64_t id = 0;
  float score = 0;  // inner product; cosine in [-1, 1] for normalised vectors
};

// The order every index answers in: score descending, ties by id ascending.
inline bool Better(const Hit& a, const Hit& b) {
  return a.score != b.score ? a.score > b.score : a.id < b.id;
}

// Sorts `hits` into that order and keeps the best k.
inline void KeepBest(std::vector<Hit>* hits, size_t k) {
  if (hits->size() > k) {
    std::partial_sort(hits->begin(), hits->begin() + k, hits->end(), Better);
    hits->resize(k);
  } else {
    std::sort(hits->begin(), hits->end(), Better);
  }
}

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual int dim() const = 0;
  virtual size_t size() const = 0;
  // Inserts or replaces the vector of `id`. Fails (kInvalidArgument) when vector.size()
  // != dim() or a value is not finite.
  virtual absl::Status Add(uint64_t id, const std::vector<float>& vector) = 0;
  // Removes `id`; returns false when it was not present.
  virtual bool Remove(uint64_t id) = 0;
  virtual bool Contains(uint64_t id) const = 0;
  // The k best hits, score descending (ties by id ascending); only ids in
  // `allowed` when non-null. Fewer than k only when fewer vectors qualify.
  // Fails with kInvalidArgument when query.size() != dim(), kInternal when Faiss reports
  // an error.
  virtual absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& query, size_t k,
                                                  const ::Roaring64Map* allowed) const = 0;
  // Bytes of RAM held by the index (vectors, ids, maps), approximately.
  virtual size_t MemoryBytes() const = 0;
};

// The exact index: every vector in one row-major float32 matrix.
std::unique_ptr<VectorIndex> NewFlatIndex(int dim);

}  // namespace iss::index

#endif  // ISS_INDEX_VECTOR_INDEX_H_
