// Port: where index shards keep their files and snapshots. Today a directory per gallery
// on this node's disk (index/local_snapshot_store.h); in a multi-node deployment an object
// store that snapshots are published to and restored from (docs/distributed.md).
//
//   ASSIGN_OR_RETURN(std::string dir, snapshots->ShardDir(uid));   // created when missing
//   RETURN_IF_ERROR(snapshots->RemoveShard(uid));
//
// Thread contract: every method is thread-safe.
#ifndef ISS_ENGINE_PORTS_SNAPSHOT_STORE_H_
#define ISS_ENGINE_PORTS_SNAPSHOT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace iss::engine {

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // The local directory of shard `uid`'s files (created when missing).
  virtual absl::StatusOr<std::string> ShardDir(uint64_t uid) = 0;
  // Removes every file of shard `uid`; OK when it has none.
  virtual absl::Status RemoveShard(uint64_t uid) = 0;
  // The uids that have files (the engine removes those of galleries that no longer exist).
  virtual absl::StatusOr<std::vector<uint64_t>> ListShards() = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_SNAPSHOT_STORE_H_
