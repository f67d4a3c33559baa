#include "index/shard_factory.h"

#include <string>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/shard.h"

namespace iss::index {

TieredShardFactory::TieredShardFactory(const TieredOptions& options, Executor* executor, Env* env,
                                       engine::SnapshotStore* snapshots)
    : options_(options), snapshots_(snapshots) {
  options_.dir.clear();
  options_.executor = executor;
  options_.env = env != nullptr ? env : Env::Default();
}

absl::StatusOr<std::unique_ptr<engine::IndexShard>> TieredShardFactory::OpenShard(uint64_t uid,
                                                                                  int dim,
                                                                                  bool persisted) {
  TieredOptions o = options_;
  if (persisted) {
    if (snapshots_ == nullptr) {
      return Fail(Reason::kInternal, "(index factory: no snapshot store for persisted shards)");
    }
    ASSIGN_OR_RETURN(o.dir, snapshots_->ShardDir(uid));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TieredIndex> index, TieredIndex::Open(dim, o));
  return std::unique_ptr<engine::IndexShard>(new TieredShard(std::move(index)));
}

}  // namespace iss::index
