// What the operator API asks of backups: start one, see them. The composition root
// implements it (server/backup.h), since a backup copies the data directory's parts (the
// store's checkpoint, the index snapshots, the server key) and only the root knows them.
//
//   ASSIGN_OR_RETURN(BackupInfo b, backups->Start("/srv/backups/2026-12-02"));
//   absl::StatusOr<BackupInfo> now = backups->Get(b.id);   // "running" -> "done"
//
// Thread contract: implementations are thread-safe.
#ifndef ISS_API_ADMIN_BACKUPS_H_
#define ISS_API_ADMIN_BACKUPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::api::admin {

struct BackupInfo {
  std::string id;      // "bk-<started_ms>"
  std::string target;  // the directory it is written to
  std::string state;   // "running", "done" or "failed"
  std::string error;   // why it failed ("" otherwise)
  int64_t started_ms = 0, finished_ms = 0;
  uint64_t files = 0, bytes = 0;  // copied so far
  uint64_t shards = 0;            // index snapshots copied
};

class Backups {
 public:
  virtual ~Backups() = default;
  // Starts a backup into `target` (a new directory under an allowed root) and returns at
  // once. kInvalidArgument for a target outside the roots or one that exists,
  // kUnavailable while another backup runs.
  virtual absl::StatusOr<BackupInfo> Start(const std::string& target) = 0;
  // This process's backups, newest first.
  virtual std::vector<BackupInfo> List() const = 0;
  // kItemNotFound when there is none with that id.
  virtual absl::StatusOr<BackupInfo> Get(const std::string& id) const = 0;
};

}  // namespace iss::api::admin

#endif  // ISS_API_ADMIN_BACKUPS_H_
