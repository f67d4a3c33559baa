// IdMap: the tiered index's live id -> slot map, as pages of 4096 direct entries: 4 bytes an
// id instead of ~30 for a hash map. Gallery ids are dense (allocated in sequence), so pages
// are full; a sparse id costs one 16 KiB page.
//
//   IdMap slot_of;
//   uint32_t old = slot_of.Set(id, slot);   // IdMap::kNone when id was absent
//   if (slot_of.Find(id) != IdMap::kNone) ...
//
// Thread contract: none of its own; the owner serialises writers against readers (the
// tiered index holds its mutex exclusively to change it, shared to read it).
#ifndef ISS_INDEX_INTERNAL_ID_MAP_H_
#define ISS_INDEX_INTERNAL_ID_MAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"

namespace iss::index::internal {

class IdMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  uint32_t Find(uint64_t id) const {
    auto it = pages_.find(id >> kBits);
    return it == pages_.end() ? kNone : it->second[id & kMask];
  }
  // Returns the previous slot (kNone if absent).
  uint32_t Set(uint64_t id, uint32_t slot) {
    auto& page = pages_[id >> kBits];
    if (page == nullptr) {
      page = std::make_unique<uint32_t[]>(kPage);
      std::fill_n(page.get(), kPage, kNone);
    }
    uint32_t old = page[id & kMask];
    page[id & kMask] = slot;
    size_ += old == kNone;
    return old;
  }
  // Returns the slot `id` had (kNone if absent).
  uint32_t Erase(uint64_t id) {
    auto it = pages_.find(id >> kBits);
    if (it == pages_.end()) return kNone;
    uint32_t old = it->second[id & kMask];
    if (old == kNone) return kNone;
    it->second[id & kMask] = kNone;
    --size_;
    return old;
  }
  size_t size() const { return size_; }
  size_t bytes() const { return pages_.size() * (kPage * sizeof(uint32_t) + 32); }
  void clear() {
    pages_.clear();
    size_ = 0;
  }
  // fn(id, slot) for every entry.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& [page_no, page] : pages_) {
      for (uint64_t i = 0; i < kPage; ++i) {
        if (page[i] != kNone) fn((page_no << kBits) | i, page[i]);
      }
    }
  }

 private:
  static constexpr int kBits = 12;
  static constexpr uint64_t kPage = uint64_t(1) << kBits, kMask = kPage - 1;
  absl::flat_hash_map<uint64_t, std::unique_ptr<uint32_t[]>> pages_;
  size_t size_ = 0;
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_ID_MAP_H_
