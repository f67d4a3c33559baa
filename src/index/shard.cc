#include "index/shard.h"

#include <utility>

#include "common/status_macros.h"

namespace iss::index {

model::IndexStats ToIndexStats(const TieredStats& st) {
  // As the service's GetIndexInfo answered before the engine (src/core/service_impl.cc).
  model::IndexStats s;
  s.tier = st.ann ? "ivf-pq" : "exact";
  s.vectors = int64_t(st.live);
  s.ann_rows = int64_t(st.ann_rows);
  s.buffer_rows = int64_t(st.buffer_rows);
  s.nlist = st.nlist;
  s.ram_bytes = int64_t(st.ram_bytes);
  s.disk_bytes = int64_t(st.disk_bytes);
  s.restored = st.restored;
  s.preloaded_bytes = int64_t(st.preloaded_bytes);
  return s;
}

TieredShard::TieredShard(std::unique_ptr<TieredIndex> index) : index_(std::move(index)) {}
TieredShard::~TieredShard() = default;

int TieredShard::dim() const { return index_->dim(); }
size_t TieredShard::size() const { return index_->size(); }

absl::Status TieredShard::Put(uint64_t id, const std::vector<float>& vector, uint64_t version) {
  return index_->Put(id, vector, version);
}

bool TieredShard::Remove(uint64_t id) { return index_->Remove(id); }

bool TieredShard::HasVersion(uint64_t id, uint64_t version) const {
  return index_->HasVersion(id, version);
}

size_t TieredShard::RetainOnly(const ::Roaring64Map& live) { return index_->RetainOnly(live); }

absl::StatusOr<std::vector<engine::ScoredId>> TieredShard::Search(
    const std::vector<float>& query, size_t k, const ::Roaring64Map* allowed) const {
  ASSIGN_OR_RETURN(std::vector<Hit> hits, index_->Search(query, k, allowed));
  std::vector<engine::ScoredId> out;
  out.reserve(hits.size());
  for (const Hit& h : hits) out.push_back({h.id, h.score});
  return out;
}

model::IndexStats TieredShard::Stats() const { return ToIndexStats(index_->Stats()); }

void TieredShard::Destroy() { index_->Destroy(); }

}  // namespace iss::index
