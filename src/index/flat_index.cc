// FlatIndex: vectors in one contiguous row-major matrix; a removal moves the
// last row into the hole, so a scan never touches dead rows and Remove() is
// O(dim). Search without a filter, or with a large one, is one Faiss
// knn_inner_product pass over the matrix (the filter as an IDSelector over row
// numbers); a small filter (below kDirectScanFraction of the rows) is scored
// row by row from the bitmap instead, so a selective tag filter costs
// O(matches), not O(gallery).
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <roaring/roaring64map.hh>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "index/vector_index.h"

namespace iss::index {
namespace {

constexpr double kDirectScanFraction = 0.05;

// Faiss sees row numbers; membership is decided by the row's image id.
class RowSelector : public faiss::IDSelector {
 public:
  RowSelector(const std::vector<uint64_t>& ids, const ::Roaring64Map& allowed)
      : ids_(ids), allowed_(allowed) {}
  bool is_member(idx_t row) const override {
    return allowed_.contains(static_cast<uint64_t>(ids_[row]));
  }

 private:
  const std::vector<uint64_t>& ids_;
  const ::Roaring64Map& allowed_;
};

class FlatIndex : public VectorIndex {
 public:
  explicit FlatIndex(int dim) : dim_(dim) {}
  int dim() const override { return dim_; }

  size_t size() const override {
    std::shared_lock lock(mu_);
    return ids_.size();
  }

  absl::Status Add(uint64_t id, const std::vector<float>& v) override {
    if (static_cast<int>(v.size()) != dim_) {
      return Fail(Reason::kInvalidArgument, "(vector has " + std::to_string(v.size()) +
                                                " dimensions, the index " + std::to_string(dim_) +
                                                ")");
    }
    for (float x : v) {
      if (!std::isfinite(x)) {
        return Fail(Reason::kInvalidArgument, "(vector has a non-finite value)");
      }
    }
    std::unique_lock lock(mu_);
    auto [it, inserted] = row_of_.emplace(id, ids_.size());
    if (inserted) {
      ids_.push_back(id);
      data_.resize(data_.size() + dim_);
    }
    std::copy(v.begin(), v.end(), data_.begin() + it->second * dim_);
    return absl::OkStatus();
  }

  bool Remove(uint64_t id) override {
    std::unique_lock lock(mu_);
    auto it = row_of_.find(id);
    if (it == row_of_.end()) return false;
    size_t row = it->second, last = ids_.size() - 1;
    row_of_.erase(it);
    if (row != last) {
      std::copy(data_.begin() + last * dim_, data_.begin() + (last + 1) * dim_,
                data_.begin() + row * dim_);
      ids_[row] = ids_[last];
      row_of_[ids_[row]] = row;
    }
    ids_.pop_back();
    data_.resize(ids_.size() * dim_);
    if (data_.capacity() > 2 * data_.size() + 1024 * dim_) data_.shrink_to_fit();
    return true;
  }

  bool Contains(uint64_t id) const override {
    std::shared_lock lock(mu_);
    return row_of_.count(id) > 0;
  }

  absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& query, size_t k,
                                          const ::Roaring64Map* allowed) const override {
    if (static_cast<int>(query.size()) != dim_) {
      return Fail(Reason::kInvalidArgument, "(query has " + std::to_string(query.size()) +
                                                " dimensions, the index " + std::to_string(dim_) +
                                                ")");
    }
    std::shared_lock lock(mu_);
    std::vector<Hit> hits;
    if (ids_.empty() || k == 0) return hits;
    if (allowed != nullptr &&
        static_cast<double>(allowed->cardinality()) < kDirectScanFraction * ids_.size()) {
      return SearchSubset(query, k, *allowed);
    }
    k = std::min(k, ids_.size());
    std::vector<float> scores(k);
    std::vector<int64_t> rows(k, -1);
    try {
      if (allowed != nullptr) {
        RowSelector sel(ids_, *allowed);
        faiss::knn_inner_product(query.data(), data_.data(), dim_, 1, ids_.size(), k, scores.data(),
                                 rows.data(), &sel);
      } else {
        faiss::knn_inner_product(query.data(), data_.data(), dim_, 1, ids_.size(), k, scores.data(),
                                 rows.data(), nullptr);
      }
    } catch (const faiss::FaissException& e) {
      return Fail(Reason::kInternal, std::string("(faiss: ") + e.what() + ")");
    }
    for (size_t i = 0; i < k; ++i) {
      if (rows[i] >= 0) hits.push_back({ids_[rows[i]], scores[i]});
    }
    std::sort(hits.begin(), hits.end(), Better);
    return hits;
  }

  size_t MemoryBytes() const override {
    std::shared_lock lock(mu_);
    // unordered_map: one node (key, value, next pointer, cached hash) plus a
    // bucket each.
    constexpr size_t kMapEntry = sizeof(uint64_t) + sizeof(size_t) + 2 * sizeof(void*) + 8;
    return data_.capacity() * sizeof(float) + ids_.capacity() * sizeof(uint64_t) +
           row_of_.size() * kMapEntry + row_of_.bucket_count() * sizeof(void*);
  }

 private:
  // REQUIRES: mu_ held (shared).
  std::vector<Hit> SearchSubset(const std::vector<float>& query, size_t k,
                                const ::Roaring64Map& allowed) const {
    std::vector<Hit> hits;
    for (uint64_t id : allowed) {
      auto it = row_of_.find(id);
      if (it == row_of_.end()) continue;
      hits.push_back(
          {id, faiss::fvec_inner_product(query.data(), data_.data() + it->second * dim_, dim_)});
    }
    KeepBest(&hits, k);
    return hits;
  }

  const int dim_;
  mutable std::shared_mutex mu_;
  std::vector<float> data_;                      // guarded by mu_; row r at r * dim_
  std::vector<uint64_t> ids_;                    // guarded by mu_; id of each row
  std::unordered_map<uint64_t, size_t> row_of_;  // guarded by mu_; id -> row
};

}  // namespace

std::unique_ptr<VectorIndex> NewFlatIndex(int dim) { return std::make_unique<FlatIndex>(dim); }

}  // namespace iss::index
