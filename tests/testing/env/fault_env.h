// FaultInjectionEnv: an Env wrapper that knows what a power cut would take away, to prove
// durability claims (after leveldb's db/fault_injection_test.cc). It tracks, per file
// written through it, how many bytes a Sync made durable, and, per directory, the entry
// changes (creations, renames, removals) that no SyncDir of that directory has made
// durable yet. PowerCut() then does to the real files what losing power would: each file
// is cut to its synced length and every undurable directory change is undone, newest
// first (a creation is removed, a rename is reverted and the file it replaced gets its old
// bytes back, a removed file comes back with its synced bytes).
//
//   FaultInjectionEnv env(Env::Default());
//   ... write through &env (an index with TieredOptions::env = &env) ...
//   env.SetFilesystemActive(false);   // the machine is down: nothing more reaches the disk
//   index.reset();                    // (its final snapshot fails)
//   ASSERT_OK(env.PowerCut());
//   ... reopen with Env::Default(): only what was durable is there ...
//
// SetSyncEnabled(false) makes Sync and SyncDir succeed without making anything durable: a
// build without fsync, so a test can show that its property depends on the syncs.
// Not modelled: the durability of directories themselves (CreateDirs), of a truncation,
// or of file contents written by O_TRUNC over an existing file (treated as zero synced
// bytes). Files that existed before they were first opened through this env count as
// durable as they are. Anonymous row files (empty path) pass straight through.
// Thread contract: every method is thread-safe. File objects must not outlive the env;
// PowerCut() REQUIRES that no file of this env is open or being written.
#ifndef ISS_TESTS_TESTING_ENV_FAULT_ENV_H_
#define ISS_TESTS_TESTING_ENV_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/env.h"
#include "common/mutex.h"

namespace iss::testing {

class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<RowFile>> OpenRowFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override;
  absl::Status CreateDirs(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  uint64_t MemAvailableBytes() override;

  // false: Sync and SyncDir return OK and make nothing durable ("sync off").
  void SetSyncEnabled(bool enabled);
  // false: every call that would change a file or a directory fails with kStorage.
  void SetFilesystemActive(bool active);
  // Cuts every file to its synced length and undoes the directory changes no SyncDir made
  // durable; afterwards everything on disk counts as durable. Returns the first failure.
  absl::Status PowerCut();

  // Bytes of `path` a power cut would keep (its whole size when untracked).
  uint64_t DurableBytes(const std::string& path);
  // Directory changes a power cut would undo now.
  size_t PendingDirChanges();

  struct FileState;  // synced length of one file, shared with its open writers

 private:
  struct DirChange {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string dir;   // whose SyncDir makes it durable
    std::string path;  // created / renamed to / removed
    std::string from;  // kRename: the old name
    bool had_old = false;
    std::string old_bytes;  // kRename over an existing file: its durable bytes; kRemove: same
  };

  absl::Status Inactive(const std::string& what) const;
  // The durable bytes of the file now at `path`. REQUIRES: mu_ held.
  absl::StatusOr<std::string> DurableContent(const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The tracked state of `path`, created as "durable as it is" when untracked.
  std::shared_ptr<FileState> Track(const std::string& path, bool fresh)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RemoveFileLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  friend class FaultWritableFile;
  friend class FaultRowFile;

  Env* const base_;
  iss::Mutex mu_;
  bool sync_enabled_ ABSL_GUARDED_BY(mu_) = true;
  bool active_ ABSL_GUARDED_BY(mu_) = true;
  std::map<std::string, std::shared_ptr<FileState>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<DirChange> changes_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace iss::testing

#endif  // ISS_TESTS_TESTING_ENV_FAULT_ENV_H_
