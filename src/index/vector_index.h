// Vectors of one gallery, searchable by inner product (cosine on L2-normalised vectors).
//
//   auto index = index::NewFlatIndex(576);
//   index->Add(7, vec);                               // replaces an existing id 7
//   std::vector<index::Hit> hits = index->Search(query, 10, &allowed_ids);
//
// The interface is the seam for issue 5's compressed, tiered index; FlatIndex is the
// exact implementation (brute force with Faiss's BLAS-backed inner-product kernel).
// Ids are the gallery's internal 32-bit image ids.
// Thread contract: Search() may run concurrently with other Search() calls; Add/Remove
// need exclusive access (the caller's per-instance lock provides it).
#ifndef ISS_INDEX_VECTOR_INDEX_H_
#define ISS_INDEX_VECTOR_INDEX_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

class Roaring;  // CRoaring 0.7 (Debian 12) declares it in the global namespace

namespace iss::index {

struct Hit {
  uint32_t id;
  float score;  // inner product
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual int dim() const = 0;
  virtual size_t size() const = 0;
  // REQUIRES: vector.size() == dim().
  virtual void Add(uint32_t id, const std::vector<float>& vector) = 0;
  virtual void Remove(uint32_t id) = 0;
  // The k best hits (score descending, then id ascending); only ids in `allowed` when
  // non-null. Fewer than k only when fewer vectors qualify.
  virtual absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& query, size_t k,
                                                  const ::Roaring* allowed) const = 0;
  virtual size_t MemoryBytes() const = 0;
};

std::unique_ptr<VectorIndex> NewFlatIndex(int dim);

}  // namespace iss::index

#endif  // ISS_INDEX_VECTOR_INDEX_H_
