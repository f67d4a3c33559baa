// The tiered index's maintenance steps, each one unit of background work: train an ANN tier
// over the live vectors (PCA rotation, IVF-PQ), merge the side buffer into it, drop it when
// the index shrank, compact the exact tier's vector file, preload the vector file into the
// page cache; and PendingWork(), the rule that says which step is due.
//
//   if (PendingWork(tiers, options) == Work::kTrain) RETURN_IF_ERROR(maintenance.Train());
//
// Long steps read and encode outside the lock (searches and writes go on; adds land in the
// side buffer) and take the exclusive lock only to swap finished work in. They poll
// `stopping` between chunks and give up with kCancelled.
// Thread contract: one step at a time (the caller serialises them: TieredIndex's work
// mutex); each takes `mu` itself, shared to read and exclusive to change the tiers.
#ifndef ISS_INDEX_INTERNAL_MAINTENANCE_H_
#define ISS_INDEX_INTERNAL_MAINTENANCE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "common/mutex.h"
#include "index/internal/tiers.h"
#include "index/tiered_index.h"

namespace iss::index::internal {

enum class Work { kNone, kTrain, kMerge, kDrop, kCompact };

// The step the tiers need next. REQUIRES: the tiers' mutex held (shared).
Work PendingWork(const Tiers& t, const TieredOptions& o);

class Maintenance {
 public:
  // `stopping` true: abandon the running step. `options.dir`, `options.env`: where
  // compaction writes the next vector file.
  Maintenance(int dim, const TieredOptions& options, iss::Mutex* mu, Tiers* tiers,
              std::function<bool()> stopping);

  // Trains a new ANN tier on the live vectors, encodes all of them, swaps it in.
  absl::Status Train();
  // Encodes the side buffer with the current ANN tier and appends it to the lists.
  absl::Status Merge();
  // Back to the exact tier only.
  void Drop();
  // Exact tier only: rewrites the vector file without dead rows, as generation vgen + 1
  // (slots are renumbered, so under the exclusive lock; the tier is small). The old file
  // stays until the next snapshot. No-op with an ANN tier.
  absl::Status Compact();
  // Reads the vector file once so that re-ranks hit memory, not the disk, when it fits in
  // 3/4 of MemAvailable. Returns the bytes read.
  size_t Preload();

 private:
  // Encoded slots: (list, slot, code) in columns.
  struct Encoded {
    std::vector<int64_t> lists, slots;
    std::vector<uint8_t> codes;
  };
  void Gather(const uint32_t* slots, size_t n, std::vector<float>* out) const;
  void Rotate(const std::vector<float>& rot, std::vector<float>* x, size_t n) const;
  std::vector<uint32_t> LiveSlots(size_t from, size_t to) const;
  absl::Status Encode(const faiss::IndexIVFPQ& ivf, const std::vector<float>& rot,
                      const std::vector<uint32_t>& slots, Encoded* out) const;
  static void AddEncoded(faiss::IndexIVFPQ* ivf, const Encoded& e);

  const int dim_;
  const TieredOptions& opt_;
  iss::Mutex* const mu_;
  Tiers* const t_;
  const std::function<bool()> stopping_;
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_MAINTENANCE_H_
