#include "index/internal/tiers.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/invlists/InvertedLists.h>

namespace iss::index::internal {

Tiers::Tiers() = default;
Tiers::~Tiers() = default;

const float* Centroids(const faiss::IndexIVFPQ& ann) {
  const faiss::Index* q = ann.quantizer;
  if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(q)) q = h->storage;
  return static_cast<const faiss::IndexFlat*>(q)->get_xb();
}

bool HnswCoarse(const faiss::IndexIVFPQ& ann) {
  return dynamic_cast<const faiss::IndexHNSW*>(ann.quantizer) != nullptr;
}

int Tiers::nlist() const { return ann ? int(ann->nlist) : 0; }

size_t Tiers::RamBytes() const {
  size_t bytes =
      ids.capacity() * 8 + versions.capacity() * 8 + dead.capacity() * 8 + slot_of.bytes();
  if (ann != nullptr) {
    using Idx = faiss::Index::idx_t;
    const auto* lists = dynamic_cast<const faiss::ArrayInvertedLists*>(ann->invlists);
    if (lists != nullptr) {
      for (size_t l = 0; l < lists->nlist; ++l) {
        bytes += lists->codes[l].capacity() + lists->ids[l].capacity() * sizeof(Idx);
      }
    } else {
      bytes += ann->ntotal * (ann->code_size + sizeof(Idx));
    }
    bytes += ann->nlist * size_t(ann->d) * sizeof(float);  // coarse centroids
    if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(ann->quantizer)) {
      bytes += h->hnsw.neighbors.capacity() * sizeof(h->hnsw.neighbors[0]) +
               h->hnsw.offsets.capacity() * sizeof(size_t) + h->hnsw.levels.capacity() * 4;
    }
    bytes += ann->pq.centroids.size() * sizeof(float);       // PQ codebooks
    bytes += rot.size() * sizeof(float);                     // rotation
    bytes += ann->nlist * 2 * sizeof(std::vector<uint8_t>);  // list headers
  }
  return bytes;
}

void Tiers::Clear() {
  file.reset();
  fine.reset();
  ann.reset();
  rot.clear();
  ids.clear();
  versions.clear();
  dead.clear();
  slot_of.clear();
  built = ann_dead = trained_live = dead_count = 0;
  vgen = 1;
}

}  // namespace iss::index::internal
