// LocalSnapshotStore: the engine's engine::SnapshotStore (ports/snapshot_store.h) over a
// directory of this node's disk: shard `uid` keeps its files in <root>/<uid as 16
// lowercase hex digits>, the layout the server has always used (<data_dir>/index/<016x>).
//
//   LocalSnapshotStore store(data_dir + "/index", env);
//   ASSIGN_OR_RETURN(std::string dir, store.ShardDir(7));  // .../index/0000000000000007
//   ASSIGN_OR_RETURN(std::vector<uint64_t> uids, store.ListShards());
//
// Thread contract: every method is thread-safe (stateless over the Env).
#ifndef ISS_INDEX_LOCAL_SNAPSHOT_STORE_H_
#define ISS_INDEX_LOCAL_SNAPSHOT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "engine/ports/snapshot_store.h"

namespace iss::index {

class LocalSnapshotStore : public engine::SnapshotStore {
 public:
  // `root`: the directory of every shard's directory (created on first use). `env`: its
  // file system, the one the shards' indexes use (null: Env::Default()).
  explicit LocalSnapshotStore(std::string root, Env* env = Env::Default());

  // <root>/<016x uid>, created when missing.
  absl::StatusOr<std::string> ShardDir(uint64_t uid) override;
  // Removes <root>/<016x uid> and what it holds (durably: SyncDir of root); OK when absent.
  absl::Status RemoveShard(uint64_t uid) override;
  // The uids of root's entries named as ShardName() names them, ascending; other entries
  // are ignored; none when root does not exist.
  absl::StatusOr<std::vector<uint64_t>> ListShards() override;

  // Copies shard `uid`'s committed snapshot into `dst_dir` (created; each file synced, then
  // the directory) while the shard keeps working, for a backup: the snapshot's meta file is
  // read first and written last, and the copy is retried when the meta changed meanwhile (a
  // newer snapshot committed and the files it replaced removed). The vector file may have
  // grown past the meta's rows; a load reads only those. The bytes copied; 0 and nothing
  // written when the shard has no snapshot yet; kUnavailable when four tries all raced a
  // new snapshot.
  absl::StatusOr<uint64_t> CopyShardTo(uint64_t uid, const std::string& dst_dir);

  // "%016x": 7 -> "0000000000000007".
  static std::string ShardName(uint64_t uid);
  // The uid a name of exactly 16 lowercase hex digits encodes; nullopt for any other name.
  static std::optional<uint64_t> ParseShardName(std::string_view name);

  const std::string& root() const { return root_; }

 private:
  const std::string root_;
  Env* const env_;
};

}  // namespace iss::index

#endif  // ISS_INDEX_LOCAL_SNAPSHOT_STORE_H_
