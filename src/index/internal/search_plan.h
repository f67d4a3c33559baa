// The tiered index's search plan: which tiers answer a query and how. Without a filter, or
// with a wide one, the ANN tier proposes rerank x k candidates (its probe widened by
// 1/sqrt(filter share) and doubled until the page is full), re-ranked exactly from the
// vector file, merged with an exact scan of the side buffer. A filter that is small, rare,
// or cheaper to score id by id than the codes its widened probe would scan (the filter cost
// rule, with a page-cache residency sample) is scored exactly, id by id. Without an ANN
// tier: one filtered pass over the rows, or id by id for a filter under 5% of them.
//
//   SearchCounters counters;
//   ASSIGN_OR_RETURN(std::vector<Hit> hits,
//                    SearchTiers(tiers, dim, {nprobe, rerank}, q, 10, &allowed, &counters));
//
// Thread contract: SearchTiers() only reads `tiers`; REQUIRES the owner's mutex held (shared
// is enough). Counters are atomics, bumped concurrently.
#ifndef ISS_INDEX_INTERNAL_SEARCH_PLAN_H_
#define ISS_INDEX_INTERNAL_SEARCH_PLAN_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "index/internal/tiers.h"
#include "index/vector_index.h"

namespace iss::index::internal {

struct SearchKnobs {
  int nprobe = 16;   // lists probed for an unfiltered query (>= 1)
  int rerank = 200;  // candidates re-ranked exactly: rerank x k, within [100, 5000] (>= 1)
};

// Which path filtered searches took (TieredStats).
struct SearchCounters {
  std::atomic<uint64_t> subset{0};        // scored exactly, id by id
  std::atomic<uint64_t> ann_filtered{0};  // through the ANN tier
};

// The k best live hits for `q` (dim floats), only ids in `allowed` when set; Better() order.
// Fails (kInternal) when Faiss reports an error. REQUIRES: q.size() == dim.
absl::StatusOr<std::vector<Hit>> SearchTiers(const Tiers& tiers, int dim, SearchKnobs knobs,
                                             const std::vector<float>& q, size_t k,
                                             const ::Roaring64Map* allowed,
                                             SearchCounters* counters);

// Inner product of two float rows; AVX2 where the CPU has it (Debian's Faiss is a generic
// build whose single-vector kernel is scalar).
float DotFloat(const float* a, const float* b, int d);

// The best n lists of an HNSW coarse quantizer for `q` (found by walking its graph with
// search depth max(ef, n), on this thread, with DotFloat): list ids and inner products,
// best first; returns how many were found (<= n; unfilled ids are -1).
size_t HnswBest(const faiss::IndexIVFPQ& ann, const float* q, size_t n, int ef, float* score,
                int64_t* list);

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_SEARCH_PLAN_H_
