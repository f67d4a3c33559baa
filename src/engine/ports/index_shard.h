// Port: one gallery's vector index, searchable by inner product (cosine on L2-normalised
// vectors), rebuildable from the catalog. The tiered Faiss index (index/) implements it.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<IndexShard> shard, factory->OpenShard(uid, 576));
//   if (!shard->HasVersion(id, version)) RETURN_IF_ERROR(shard->Put(id, vec, version));
//   shard->RetainOnly(live_ids);   // after replaying the catalog at start-up
//   ASSIGN_OR_RETURN(std::vector<ScoredId> hits, shard->Search(q, 10, &allowed));
//
// A shard may persist snapshots (and say so through Stats().restored); the versions it
// reports let the engine replay only what a snapshot lacks.
// Thread contract: every method is thread-safe; searches run concurrently with writes.
#ifndef ISS_ENGINE_PORTS_INDEX_SHARD_H_
#define ISS_ENGINE_PORTS_INDEX_SHARD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/types.h"

class Roaring64Map;  // CRoaring 0.7 (Debian 12) declares it in the global namespace

namespace iss::engine {

struct ScoredId {
  uint64_t id = 0;
  float score = 0;  // inner product; cosine in [-1, 1] for normalised vectors
};

struct ShardStats {
  model::IndexStats index;
  size_t live = 0;
};

class IndexShard {
 public:
  virtual ~IndexShard() = default;
  virtual int dim() const = 0;
  virtual size_t size() const = 0;
  // Inserts or replaces the vector of `id`, stamped with `version`.
  virtual absl::Status Put(uint64_t id, const std::vector<float>& vector, uint64_t version) = 0;
  // Removes `id`; false when it was not present.
  virtual bool Remove(uint64_t id) = 0;
  // True when `id` is present with exactly this version.
  virtual bool HasVersion(uint64_t id, uint64_t version) const = 0;
  // Removes every id not in `live`; returns how many were removed.
  virtual size_t RetainOnly(const ::Roaring64Map& live) = 0;
  // The k best, score descending, ties by id ascending; only ids in `allowed` when set.
  virtual absl::StatusOr<std::vector<ScoredId>> Search(const std::vector<float>& query, size_t k,
                                                       const ::Roaring64Map* allowed) const = 0;
  virtual model::IndexStats Stats() const = 0;
  // Stops background work and removes the shard's files; the shard is unusable after.
  virtual void Destroy() = 0;
};

class IndexFactory {
 public:
  virtual ~IndexFactory() = default;
  // Opens (restoring its snapshot when it has one) the shard of gallery `uid`.
  // `persisted` false: a shard kept in memory and temporary files only.
  virtual absl::StatusOr<std::unique_ptr<IndexShard>> OpenShard(uint64_t uid, int dim,
                                                                bool persisted) = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_INDEX_SHARD_H_
