// TieredShardFactory: the engine's engine::IndexFactory (ports/index_shard.h) for tiered
// indexes. Every shard opens with one TieredOptions template, runs its background work on
// one shared Executor and does its file I/O through one Env; a persisted shard lives in
// its SnapshotStore directory (restoring the snapshot there), an unpersisted one in an
// anonymous temporary file only.
//
//   Executor executor({.threads = 2, .name = "index"});
//   LocalSnapshotStore snapshots(data_dir + "/index", Env::Default());
//   TieredShardFactory factory(options.index, &executor, Env::Default(), &snapshots);
//   ASSIGN_OR_RETURN(std::unique_ptr<engine::IndexShard> shard,
//                    factory.OpenShard(uid, 576, /*persisted=*/true));
//
// REQUIRES: the executor, the env and the snapshot store outlive every shard opened.
// Thread contract: OpenShard() is thread-safe (the template is never changed).
#ifndef ISS_INDEX_SHARD_FACTORY_H_
#define ISS_INDEX_SHARD_FACTORY_H_

#include <cstdint>
#include <memory>

#include "common/env.h"
#include "engine/ports/index_shard.h"
#include "engine/ports/snapshot_store.h"
#include "index/tiered_index.h"

namespace iss {
class Executor;
}  // namespace iss

namespace iss::index {

class TieredShardFactory : public engine::IndexFactory {
 public:
  // `options`: the template (its dir, executor and env fields are ignored: a shard's dir
  // comes from `snapshots`). `executor` null: background work runs inline in writes.
  // `env` null: Env::Default(). `snapshots` null: only unpersisted shards can be opened.
  TieredShardFactory(const TieredOptions& options, Executor* executor, Env* env,
                     engine::SnapshotStore* snapshots);

  // A TieredShard of dimension `dim`; persisted: in snapshots->ShardDir(uid).
  absl::StatusOr<std::unique_ptr<engine::IndexShard>> OpenShard(uint64_t uid, int dim,
                                                                bool persisted) override;

 private:
  TieredOptions options_;
  engine::SnapshotStore* const snapshots_;
};

}  // namespace iss::index

#endif  // ISS_INDEX_SHARD_FACTORY_H_
