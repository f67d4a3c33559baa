// Tiers: the tiered index's core state, every tier in one place: the 16-bit vector file
// (one row a slot), slot -> id and version, the tombstone bitset, the live id -> slot map,
// the ANN tier (Faiss IVF-PQ over the rotated rows of slots [0, built)) and the rotation.
// The side buffer is the rows from `built` on.
//
//   iss::MutexLock l(&mu);                  // the owner's mutex guards a Tiers
//   PushBack(tiers.ids, id);  ...  tiers.Kill(old_slot);
//
// Invariants (under the owner's mutex): ids.size() == versions.size() == file->rows();
// slot_of maps every live id to its one live slot; a slot's dead bit is set exactly when it
// is not in slot_of; ann holds the slots below `built` that were live when encoded, ann_dead
// counts those that died since. Thread contract: none of its own. The owner (TieredIndex)
// reads under a shared lock and writes under an exclusive one; `file`, `ann`, `rot`,
// `built` and `vgen` are changed only by the one maintenance step running at a time, which
// may therefore read them without the lock.
#ifndef ISS_INDEX_INTERNAL_TIERS_H_
#define ISS_INDEX_INTERNAL_TIERS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "index/internal/id_map.h"
#include "index/vector_file.h"

namespace faiss {
struct IndexIVFPQ;
}  // namespace faiss

namespace iss::index::internal {

struct Tiers {
  Tiers();
  ~Tiers();
  Tiers(const Tiers&) = delete;
  Tiers& operator=(const Tiers&) = delete;

  std::unique_ptr<VectorFile> file;
  // With an 8-bit `file`: the same rows at 16 bits, read only to re-score the best
  // candidates of a search (kFineRows of them, mostly from disk). Null otherwise.
  std::unique_ptr<VectorFile> fine;
  std::vector<uint64_t> ids;       // slot -> id
  std::vector<uint64_t> versions;  // slot -> caller's version
  std::vector<uint64_t> dead;      // tombstone bitset, a bit a slot
  IdMap slot_of;                   // live id -> slot
  size_t dead_count = 0;
  std::unique_ptr<faiss::IndexIVFPQ> ann;  // the ANN tier, or null (exact only)
  std::vector<float> rot;                  // ann's rotation (dim x dim, row-major), with ann
  size_t built = 0;                        // slots [0, built) are in ann (if live when encoded)
  size_t ann_dead = 0;                     // ann entries whose slot died since
  size_t trained_live = 0;                 // live vectors when ann was trained
  uint64_t vgen = 1;                       // generation of the vector file (its name)

  size_t rows() const { return ids.size(); }
  bool Dead(size_t slot) const { return (dead[slot >> 6] >> (slot & 63)) & 1; }
  // REQUIRES: `slot` live.
  void Kill(uint32_t slot) {
    dead[slot >> 6] |= uint64_t(1) << (slot & 63);
    ++dead_count;
    if (ann != nullptr && slot < built) ++ann_dead;
  }
  // The ANN tier's list count (0 without one).
  int nlist() const;
  // Heap held: codes, ids, maps, tombstones, centroids, rotation.
  size_t RamBytes() const;
  // Back to empty, without a vector file.
  void Clear();
};

// Candidates an 8-bit search re-scores from the 16-bit `fine` rows: this many, at least
// kFineMultiple x k.
inline constexpr size_t kFineRows = 40;
inline constexpr size_t kFineMultiple = 4;

// The ANN tier's coarse centroids (nlist x dim, row-major): a flat quantizer's vectors,
// or the storage of an HNSW one (tiers above kFlatCoarseMax lists).
const float* Centroids(const faiss::IndexIVFPQ& ann);
// True when the coarse quantizer is an HNSW graph over the centroids.
bool HnswCoarse(const faiss::IndexIVFPQ& ann);
// Lists up to which the coarse quantizer is flat (every centroid scored per query); more
// lists get an HNSW graph over the centroids.
inline constexpr int kFlatCoarseMax = 2048;

// Grows `v` by an eighth instead of doubling: per-vector tables stay within ~12% of their
// size.
template <typename T>
void PushBack(std::vector<T>& v, T x) {
  if (v.size() == v.capacity()) v.reserve(v.size() + std::max<size_t>(4096, v.size() / 8));
  v.push_back(x);
}

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_TIERS_H_
