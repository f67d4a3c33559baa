// FlatIndex: vectors in one contiguous row-major matrix; slots are compacted on removal
// (the last row moves into the hole) so a scan never touches dead rows.
#include <algorithm>
#include <string>
#include <unordered_map>

#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>
#include <roaring/roaring.hh>

#include "common/error.h"
#include "index/vector_index.h"

namespace iss::index {
namespace {

// Faiss sees slot numbers; membership is decided by the slot's image id.
class SlotSelector : public faiss::IDSelector {
 public:
  SlotSelector(const std::vector<uint32_t>& ids, const ::Roaring& allowed)
      : ids_(ids), allowed_(allowed) {}
  bool is_member(idx_t slot) const override { return allowed_.contains(ids_[slot]); }

 private:
  const std::vector<uint32_t>& ids_;
  const ::Roaring& allowed_;
};

class FlatIndex : public VectorIndex {
 public:
  explicit FlatIndex(int dim) : dim_(dim) {}
  int dim() const override { return dim_; }
  size_t size() const override { return ids_.size(); }

  void Add(uint32_t id, const std::vector<float>& v) override {
    auto it = slot_of_.find(id);
    size_t slot;
    if (it != slot_of_.end()) {
      slot = it->second;
    } else {
      slot = ids_.size();
      ids_.push_back(id);
      data_.resize(data_.size() + dim_);
      slot_of_[id] = slot;
    }
    std::copy(v.begin(), v.begin() + dim_, data_.begin() + slot * dim_);
  }

  void Remove(uint32_t id) override {
    auto it = slot_of_.find(id);
    if (it == slot_of_.end()) return;
    size_t slot = it->second, last = ids_.size() - 1;
    slot_of_.erase(it);
    if (slot != last) {
      std::copy(data_.begin() + last * dim_, data_.begin() + (last + 1) * dim_,
                data_.begin() + slot * dim_);
      ids_[slot] = ids_[last];
      slot_of_[ids_[slot]] = slot;
    }
    ids_.pop_back();
    data_.resize(ids_.size() * dim_);
  }

  absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& query, size_t k,
                                          const ::Roaring* allowed) const override {
    std::vector<Hit> hits;
    if (ids_.empty() || k == 0) return hits;
    if (int(query.size()) != dim_) return Error("IS.1008", "(query dimension mismatch)");
    k = std::min(k, ids_.size());
    std::vector<float> dist(k);
    std::vector<int64_t> slots(k, -1);
    try {
      SlotSelector sel(ids_, allowed ? *allowed : empty_);
      faiss::knn_inner_product(query.data(), data_.data(), dim_, 1, ids_.size(), k,
                               dist.data(), slots.data(), allowed ? &sel : nullptr);
    } catch (const faiss::FaissException& e) {
      return Error("IS.1008", std::string("(") + e.what() + ")");
    }
    for (size_t i = 0; i < k; ++i) {
      if (slots[i] >= 0) hits.push_back({ids_[slots[i]], dist[i]});
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
      return a.score != b.score ? a.score > b.score : a.id < b.id;
    });
    return hits;
  }

  size_t MemoryBytes() const override {
    return data_.capacity() * sizeof(float) + ids_.capacity() * sizeof(uint32_t) +
           slot_of_.size() * (sizeof(uint32_t) + sizeof(size_t) + 16);
  }

 private:
  int dim_;
  std::vector<float> data_;
  std::vector<uint32_t> ids_;
  std::unordered_map<uint32_t, size_t> slot_of_;
  ::Roaring empty_;
};

}  // namespace

std::unique_ptr<VectorIndex> NewFlatIndex(int dim) { return std::make_unique<FlatIndex>(dim); }

}  // namespace iss::index
