// Online backups of a running server and their offline restore. A backup is a directory:
//   index/<016x uid>/   each instance's committed index snapshot, copied first
//   db/                 the store's checkpoint (every namespace at one instant), second
//   server.key FORMAT   the key the secrets are sealed under; the data-format version
//   MANIFEST.json       every file with its size and CRC-32, written last: the commit point
// The snapshots are older than the checkpoint, which is what a start after a crash sees:
// each index replays from the store whatever changed after its snapshot, so a restored
// server holds exactly the writes acknowledged before the checkpoint (and, of those made
// during the backup, a subset: never a refused or a half write). Writes and searches go on
// during a backup; it runs on its own thread, one at a time.
//
//   BackupManager backups(db, snapshots, data_dir, {.dirs = {"/srv/backups"}});
//   ASSIGN_OR_RETURN(api::admin::BackupInfo b, backups.Start("/srv/backups/monday"));
//   ...  // later, on a stopped or another machine:
//   RETURN_IF_ERROR(RestoreBackup("/srv/backups/monday", "/srv/iss-restored"));
//
// Thread contract: BackupManager's methods are thread-safe; its destructor waits for a
// running backup. VerifyBackup/RestoreBackup are plain functions of their arguments.
#ifndef ISS_SERVER_BACKUP_H_
#define ISS_SERVER_BACKUP_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/admin/backups.h"
#include "common/clock.h"
#include "common/env.h"

namespace iss::store {
class Database;
}
namespace iss::index {
class LocalSnapshotStore;
}

namespace iss::server {

struct BackupOptions {
  // Absolute directories a backup may be written under (a target is a new directory below
  // one of them). Default: none: the admin API refuses backups.
  std::vector<std::string> dirs;
};

class BackupManager final : public api::admin::Backups {
 public:
  // Borrows `db` and `snapshots`, which outlive it.
  BackupManager(store::Database* db, index::LocalSnapshotStore* snapshots, std::string data_dir,
                BackupOptions options, Env* env = Env::Default(),
                const Clock* clock = Clock::Real());
  ~BackupManager() override;
  BackupManager(const BackupManager&) = delete;
  BackupManager& operator=(const BackupManager&) = delete;

  absl::StatusOr<api::admin::BackupInfo> Start(const std::string& target) override;
  std::vector<api::admin::BackupInfo> List() const override;
  absl::StatusOr<api::admin::BackupInfo> Get(const std::string& id) const override;

 private:
  void Run(size_t index);  // on worker_
  absl::Status Copy(size_t index);
  void Count(size_t index, uint64_t files, uint64_t bytes, uint64_t shards);

  store::Database* const db_;
  index::LocalSnapshotStore* const snapshots_;
  const std::string data_dir_;
  const BackupOptions options_;
  Env* const env_;
  const Clock* const clock_;
  mutable std::mutex mu_;
  std::vector<api::admin::BackupInfo> backups_;  // guarded by mu_, oldest first
  std::thread worker_;                           // the running (or last) backup
};

struct BackupManifest {
  int format = 0;
  int64_t created_ms = 0;
  uint64_t files = 0, bytes = 0;
};

// Checks a backup directory: its manifest, and every file it lists by size and CRC-32.
// kCorrupt naming the first file that differs; kInvalidArgument when it is no backup.
absl::StatusOr<BackupManifest> VerifyBackup(const std::string& dir, Env* env = Env::Default());

// Makes `data_dir` (new or empty) from the backup in `from` after verifying it; a server
// started on `data_dir` then serves what the backup holds. kInvalidArgument when data_dir
// already holds data.
absl::StatusOr<BackupManifest> RestoreBackup(const std::string& from, const std::string& data_dir,
                                             Env* env = Env::Default());

}  // namespace iss::server

#endif  // ISS_SERVER_BACKUP_H_
