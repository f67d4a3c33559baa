// TieredShard: the tiered index as the engine's engine::IndexShard (ports/index_shard.h), a
// thin adapter that owns one TieredIndex; and ToIndexStats(), the one mapping of
// TieredStats to model::IndexStats (tier "ivf-pq" or "exact", vectors = live, ...).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<TieredIndex> index, TieredIndex::Open(576, options));
//   std::unique_ptr<engine::IndexShard> shard = std::make_unique<TieredShard>(std::move(index));
//   ASSIGN_OR_RETURN(std::vector<engine::ScoredId> hits, shard->Search(q, 10, &allowed));
//
// Usually made by TieredShardFactory (shard_factory.h). Thread contract: as TieredIndex,
// every method is thread-safe.
#ifndef ISS_INDEX_SHARD_H_
#define ISS_INDEX_SHARD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/ports/index_shard.h"
#include "index/tiered_index.h"
#include "model/types.h"

namespace iss::index {

// The engine's view of TieredIndex::Stats().
model::IndexStats ToIndexStats(const TieredStats& stats);

class TieredShard : public engine::IndexShard {
 public:
  // REQUIRES: `index` non-null.
  explicit TieredShard(std::unique_ptr<TieredIndex> index);
  ~TieredShard() override;  // as ~TieredIndex: stops its work, writes a closing snapshot

  int dim() const override;
  size_t size() const override;
  absl::Status Put(uint64_t id, const std::vector<float>& vector, uint64_t version) override;
  bool Remove(uint64_t id) override;
  bool HasVersion(uint64_t id, uint64_t version) const override;
  size_t RetainOnly(const ::Roaring64Map& live) override;
  absl::StatusOr<std::vector<engine::ScoredId>> Search(
      const std::vector<float>& query, size_t k, const ::Roaring64Map* allowed) const override;
  model::IndexStats Stats() const override;
  void Destroy() override;

  // The index itself: snapshots, search knobs, WaitIdle, TieredStats (tools, tests).
  TieredIndex& index() { return *index_; }
  const TieredIndex& index() const { return *index_; }

 private:
  const std::unique_ptr<TieredIndex> index_;
};

}  // namespace iss::index

#endif  // ISS_INDEX_SHARD_H_
