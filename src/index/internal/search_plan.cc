#include "index/internal/search_plan.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/Heap.h>

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

// The knob counts probes per kFlatCoarseMax lists: a tier with more (finer) lists probes
// proportionally more of them, so a query scans the same share of the index as with
// 2,048 lists (measured at 2M: 4,096 lists x 32 probes beat 2,048 x 16 on recall, at the
// same latency; bench/RESULTS.md).
int Probes(const faiss::IndexIVFPQ& ann, int nprobe) {
  return nprobe * std::max(1, int(ann.nlist) / kFlatCoarseMax);
}

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

// The lists a query probes, best first. A flat quantizer (or a probe of more than an
// eighth of the lists) scores every centroid once, so widening the probe costs no
// rescoring; an HNSW one walks its graph for the best n, on this thread.
class CoarseLists {
 public:
  CoarseLists(const faiss::IndexIVFPQ& ann, const float* q, int dim)
      : ann_(ann), q_(q), dim_(dim), hnsw_(dynamic_cast<const faiss::IndexHNSW*>(ann.quantizer)) {}

  // Makes lists()[0, n') the best n' lists, n' = min(n, nlist) (an HNSW walk may find
  // fewer); returns n'.
  size_t Best(size_t n) {
    const size_t nlist = ann_.nlist;
    n = std::min(n, nlist);
    if (n <= sorted_) return n;
    if (hnsw_ != nullptr && !all_ && n * 8 <= nlist) return Walk(n);
    if (!all_) {
      const float* c = Centroids(ann_);
      lists_.resize(nlist);
      for (size_t l = 0; l < nlist; ++l) {
        lists_[l] = {DotFloat(q_, c + l * dim_, dim_), Idx(l)};
      }
      all_ = true;
      sorted_ = 0;
    }
    std::partial_sort(lists_.begin() + sorted_, lists_.begin() + n, lists_.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    sorted_ = n;
    return n;
  }
  const std::vector<std::pair<float, Idx>>& lists() const { return lists_; }

 private:
  size_t Walk(size_t n) {
    std::vector<float> d(n);
    std::vector<Idx> l(n);
    const size_t found = HnswBest(ann_, q_, n, int(kHnswEfSearch), d.data(), l.data());
    lists_.clear();
    for (size_t i = 0; i < found; ++i) lists_.push_back({d[i], l[i]});
    sorted_ = lists_.size();
    return sorted_;
  }

  static constexpr size_t kHnswEfSearch = 64;
  const faiss::IndexIVFPQ& ann_;
  const float* const q_;
  const int dim_;
  const faiss::IndexHNSW* const hnsw_;
  std::vector<std::pair<float, Idx>> lists_;
  size_t sorted_ = 0;  // lists_[0, sorted_) are the best, in order
  bool all_ = false;   // lists_ holds every list's score
};

// Candidates from the ANN tier, re-ranked exactly. A filter widens the probe in proportion
// to its rarity, and the probe doubles until the page is full or every list was scanned.
void SearchAnn(const Tiers& t, int dim, SearchKnobs knobs, const std::vector<float>& q, size_t k,
               const ::Roaring64Map* allowed, double share, std::vector<Hit>* hits) {
  const faiss::IndexIVFPQ& ann = *t.ann;
  const size_t nlist = ann.nlist;
  const size_t want = std::clamp<size_t>(size_t(knobs.rerank) * k, 100, std::max<size_t>(k, 5000));
  size_t nprobe = size_t(std::ceil(Probes(ann, knobs.nprobe) / std::sqrt(share)));
  nprobe = std::clamp<size_t>(nprobe, 1, nlist);
  SlotSelector sel(t, allowed);
  std::vector<float> qr(q);
  if (!t.rot.empty()) {
    // One row at a time on this thread: BLAS would wake its thread pool for every query.
    for (int i = 0; i < dim; ++i) qr[i] = DotFloat(t.rot.data() + size_t(i) * dim, q.data(), dim);
  }
  CoarseLists coarse(ann, qr.data(), dim);
  std::vector<float> scores(want);
  std::vector<Idx> slots(want);
  size_t got = 0;
  for (;;) {
    nprobe = coarse.Best(nprobe);
    std::vector<Idx> assign(nprobe);
    std::vector<float> assign_score(nprobe);
    for (size_t p = 0; p < nprobe; ++p) {
      assign_score[p] = coarse.lists()[p].first;
      assign[p] = coarse.lists()[p].second;
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

// Hits to keep before Refine: more than k when an 8-bit file has a 16-bit twin.
size_t FineK(const Tiers& t, size_t k) {
  return t.fine == nullptr ? k : std::max(k * kFineMultiple, kFineRows);
}

// With an 8-bit file: the best FineK hits re-scored from the 16-bit rows (asked from the
// disk all at once, then read in file order), the best k of them kept. Otherwise: no-op.
void Refine(const Tiers& t, const std::vector<float>& q, size_t k, std::vector<Hit>* hits) {
  if (t.fine == nullptr || hits->empty()) return;
  std::vector<std::pair<size_t, size_t>> slots;  // (slot, hit)
  for (size_t i = 0; i < hits->size(); ++i) slots.push_back({t.slot_of.Find((*hits)[i].id), i});
  std::sort(slots.begin(), slots.end());
  std::vector<size_t> rows;
  for (const auto& [slot, i] : slots) rows.push_back(slot);
  t.fine->WillNeed(rows);
  for (const auto& [slot, i] : slots) (*hits)[i].score = t.fine->Dot(q.data(), slot);
  KeepBest(hits, k);
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

namespace {

// HNSW minimises a distance: the negated inner product with a centroid.
struct NegativeDot : faiss::DistanceComputer {
  const float* c;
  int d;
  const float* q = nullptr;
  NegativeDot(const float* centroids, int dim) : c(centroids), d(dim) {}
  void set_query(const float* x) override { q = x; }
  float operator()(idx_t i) override { return -DotFloat(q, c + size_t(i) * d, d); }
  float symmetric_dis(idx_t i, idx_t j) override {
    return -DotFloat(c + size_t(i) * d, c + size_t(j) * d, d);
  }
};

}  // namespace

size_t HnswBest(const faiss::IndexIVFPQ& ann, const float* q, size_t n, int ef, float* score,
                int64_t* list) {
  const auto& hnsw = static_cast<const faiss::IndexHNSW*>(ann.quantizer)->hnsw;
  NegativeDot dis(Centroids(ann), int(ann.d));
  dis.set_query(q);
  faiss::VisitedTable visited(int(ann.nlist));
  faiss::SearchParametersHNSW params;
  params.efSearch = std::max(ef, int(n));
  faiss::maxheap_heapify(n, score, list);
  hnsw.search(dis, int(n), list, score, visited, &params);
  faiss::maxheap_reorder(n, score, list);
  size_t found = 0;
  while (found < n && list[found] >= 0) {
    score[found] = -score[found];
    ++found;
  }
  return found;
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
    const bool subset =
        t.ann == nullptr
            ? share < kExactSubsetShare
            : card <= kSubsetMin || (share < kSubsetShare && card <= kSubsetMax) ||
                  SubsetIsCheaper(t, Probes(*t.ann, knobs.nprobe), *allowed, card, share);
    (subset ? counters->subset : counters->ann_filtered).fetch_add(1, std::memory_order_relaxed);
    if (subset) {
      std::vector<Hit> best = SearchSubset(t, q, FineK(t, k), *allowed);
      Refine(t, q, k, &best);
      return best;
    }
  }
  try {
    if (t.ann != nullptr && t.built > 0) SearchAnn(t, dim, knobs, q, k, allowed, share, &hits);
    SearchBuffer(t, q, FineK(t, k), allowed, &hits);
  } catch (const faiss::FaissException& e) {
    return Fail(Reason::kInternal, std::string("(faiss: ") + e.what() + ")");
  }
  KeepBest(&hits, FineK(t, k));
  Refine(t, q, k, &hits);
  return hits;
}

}  // namespace iss::index::internal
