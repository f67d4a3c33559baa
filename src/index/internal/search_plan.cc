#include "index/internal/search_plan.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <cmath>
#include <roaring/roaring64map.hh>
#include <string>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/simd.h"

namespace iss::index::internal {
namespace {

using Idx = faiss::Index::idx_t;

// Filters of at most kSubsetMin ids, or rarer than kSubsetShare and at most kSubsetMax ids,
// are scored exactly id by id; so are larger ones when kIdCost x ids <= the codes the
// widened probe would scan (at 10M an id scored from the page cache took ~600 ns, a code
// scanned with the filter ~200 ns) and a sample of their rows is in the page cache. The rest
// go through the ANN tier with a probe widened by 1/sqrt(share).
constexpr size_t kSubsetMin = 2000;
constexpr double kSubsetShare = 0.02;
constexpr size_t kSubsetMax = 30000;
constexpr double kIdCost = 3;
constexpr size_t kResidentSample = 32;
// Without an ANN tier, a filter under this share of the rows is scored id by id; else one
// filtered pass over the rows is cheaper.
constexpr double kExactSubsetShare = 0.05;

// Faiss sees slots; a slot qualifies when live and (no filter or) allowed.
class SlotSelector : public faiss::IDSelector {
 public:
  SlotSelector(const Tiers& t, const ::Roaring64Map* allowed) : t_(t), allowed_(allowed) {}
  bool is_member(Idx i) const override {
    const size_t slot = size_t(i);
    if (t_.Dead(slot)) return false;
    return allowed_ == nullptr || allowed_->contains(t_.ids[slot]);
  }

 private:
  const Tiers& t_;
  const ::Roaring64Map* allowed_;
};

// True when scoring the filter's ids costs less than the codes its widened probe would scan
// and nearly all of a sample of their rows are in the page cache (else exact scoring would
// fault on the disk). REQUIRES: t.ann set.
bool SubsetIsCheaper(const Tiers& t, int nprobe, const ::Roaring64Map& allowed, uint64_t card,
                     double share) {
  const size_t nlist = t.ann->nlist;
  const double probe = std::min(double(nlist), std::ceil(nprobe / std::sqrt(share)));
  if (kIdCost * double(card) > probe * double(t.built) / double(nlist)) return false;
  std::vector<size_t> rows;
  for (size_t i = 0; i < kResidentSample; ++i) {
    uint64_t id = 0;
    if (!allowed.select(card * i / kResidentSample, &id)) continue;
    uint32_t slot = t.slot_of.Find(id);
    if (slot != IdMap::kNone) rows.push_back(slot);
  }
  return t.file->Resident(rows) * 16 >= rows.size() * 15;
}

std::vector<Hit> SearchSubset(const Tiers& t, const std::vector<float>& q, size_t k,
                              const ::Roaring64Map& allowed) {
  std::vector<Hit> hits;
  for (uint64_t id : allowed) {
    uint32_t slot = t.slot_of.Find(id);
    if (slot == IdMap::kNone) continue;
    hits.push_back({id, t.file->Dot(q.data(), slot)});
  }
  KeepBest(&hits, k);
  return hits;
}

// Candidates from the ANN tier, re-ranked exactly. A filter widens the probe in proportion
// to its rarity, and the probe doubles until the page is full or every list was scanned.
void SearchAnn(const Tiers& t, int dim, SearchKnobs knobs, const std::vector<float>& q, size_t k,
               const ::Roaring64Map* allowed, double share, std::vector<Hit>* hits) {
  const faiss::IndexIVFPQ& ann = *t.ann;
  const size_t nlist = ann.nlist;
  const size_t want = std::clamp<size_t>(size_t(knobs.rerank) * k, 100, std::max<size_t>(k, 5000));
  size_t nprobe = size_t(std::ceil(knobs.nprobe / std::sqrt(share)));
  nprobe = std::clamp<size_t>(nprobe, 1, nlist);
  SlotSelector sel(t, allowed);
  std::vector<float> qr(q);
  if (!t.rot.empty()) {
    // One row at a time on this thread: BLAS would wake its thread pool for every query.
    for (int i = 0; i < dim; ++i) qr[i] = DotFloat(t.rot.data() + size_t(i) * dim, q.data(), dim);
  }
  // Coarse scores for every list, so widening the probe costs no rescoring.
  const auto* coarse = static_cast<const faiss::IndexFlat*>(ann.quantizer);
  std::vector<std::pair<float, Idx>> lists(nlist);
  for (size_t l = 0; l < nlist; ++l) {
    lists[l] = {DotFloat(qr.data(), coarse->get_xb() + l * dim, dim), Idx(l)};
  }
  auto by_score = [](const auto& a, const auto& b) { return a.first > b.first; };
  std::vector<float> scores(want);
  std::vector<Idx> slots(want);
  size_t got = 0, sorted = 0;
  for (;;) {
    if (nprobe > sorted) {
      std::partial_sort(lists.begin() + sorted, lists.begin() + nprobe, lists.end(), by_score);
      sorted = nprobe;
    }
    std::vector<Idx> assign(nprobe);
    std::vector<float> assign_score(nprobe);
    for (size_t p = 0; p < nprobe; ++p) {
      assign_score[p] = lists[p].first;
      assign[p] = lists[p].second;
    }
    faiss::SearchParametersIVF params;
    params.nprobe = nprobe;
    params.sel = (allowed != nullptr || t.dead_count > 0) ? &sel : nullptr;
    ann.search_preassigned(1, qr.data(), Idx(want), assign.data(), assign_score.data(),
                           scores.data(), slots.data(), false, &params);
    got = 0;
    while (got < want && slots[got] >= 0) ++got;
    if (got >= want || nprobe >= nlist) break;
    nprobe = std::min(nlist, nprobe * 2);
  }
  // Exact re-rank in file order (page-cache and disk friendly), fetching a few rows ahead.
  slots.resize(got);
  std::sort(slots.begin(), slots.end());
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < got; ++i) {
    if (i + kAhead < got) {
      const char* ahead = reinterpret_cast<const char*>(t.file->Row(size_t(slots[i + kAhead])));
      for (size_t b = 0; b < t.file->row_bytes(); b += 64) __builtin_prefetch(ahead + b);
    }
    size_t slot = size_t(slots[i]);
    if (slot >= t.built || t.Dead(slot)) continue;  // defensive: never a dead row
    hits->push_back({t.ids[slot], t.file->Dot(q.data(), slot)});
  }
}

// The rows since `built`, exactly.
void SearchBuffer(const Tiers& t, const std::vector<float>& q, size_t k,
                  const ::Roaring64Map* allowed, std::vector<Hit>* hits) {
  const size_t rows = t.rows();
  if (rows <= t.built) return;
  // Heap of the best k, the worst of them on top (Better as "less").
  std::vector<Hit> heap;
  heap.reserve(k + 1);
  for (size_t slot = t.built; slot < rows; ++slot) {
    if (t.Dead(slot) || (allowed != nullptr && !allowed->contains(t.ids[slot]))) continue;
    Hit h{t.ids[slot], t.file->Dot(q.data(), slot)};
    if (heap.size() < k) {
      heap.push_back(h);
      std::push_heap(heap.begin(), heap.end(), Better);
    } else if (Better(h, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), Better);
      heap.back() = h;
      std::push_heap(heap.begin(), heap.end(), Better);
    }
  }
  hits->insert(hits->end(), heap.begin(), heap.end());
}

}  // namespace

ISS_AVX2_CLONES float DotFloat(const float* a, const float* b, int d) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

absl::StatusOr<std::vector<Hit>> SearchTiers(const Tiers& t, int dim, SearchKnobs knobs,
                                             const std::vector<float>& q, size_t k,
                                             const ::Roaring64Map* allowed,
                                             SearchCounters* counters) {
  std::vector<Hit> hits;
  const size_t live = t.slot_of.size();
  if (live == 0 || k == 0) return hits;
  // Never more hits than live rows: every buffer below is sized from k, so its cost stays
  // bounded by the index whatever a caller asks for.
  k = std::min(k, live);
  double share = 1;
  if (allowed != nullptr) {
    const uint64_t card = allowed->cardinality();
    if (card == 0) return hits;
    share = std::min(1.0, double(card) / double(live));
    const bool subset = t.ann == nullptr
                            ? share < kExactSubsetShare
                            : card <= kSubsetMin || (share < kSubsetShare && card <= kSubsetMax) ||
                                  SubsetIsCheaper(t, knobs.nprobe, *allowed, card, share);
    (subset ? counters->subset : counters->ann_filtered).fetch_add(1, std::memory_order_relaxed);
    if (subset) return SearchSubset(t, q, k, *allowed);
  }
  try {
    if (t.ann != nullptr && t.built > 0) SearchAnn(t, dim, knobs, q, k, allowed, share, &hits);
    SearchBuffer(t, q, k, allowed, &hits);
  } catch (const faiss::FaissException& e) {
    return Fail(Reason::kInternal, std::string("(faiss: ") + e.what() + ")");
  }
  KeepBest(&hits, k);
  return hits;
}

}  // namespace iss::index::internal
