// test::FaultInjectionFs: a rocksdb::FileSystem (RocksDB 7.8) over the local one that knows
// which bytes and directory entries have been made durable, so a test can simulate a power
// loss at any moment, as leveldb's db/fault_injection_test.cc does, and can fail writes as
// a full disk would.
//
//   auto fs = std::make_shared<test::FaultInjectionFs>();
//   ASSIGN_OR_RETURN(auto db, store::OpenDatabaseForTest(dir, {}, fs));
//   ... acknowledged writes ...
//   fs->SetActive(false);          // the machine dies: later writes and syncs do nothing
//   db.reset();                    // RocksDB's shutdown can no longer save anything
//   ASSERT_OK(fs->DropUnsyncedData());  // what the disk holds after the power came back
//   ... reopen on the default file system and check ...
//
// What counts as durable (the POSIX contract, not what the page cache happens to keep):
//  - a file's bytes up to its size at the start of its last successful Sync() or Fsync()
//    (RocksDB's WAL uses one or the other per DBOptions::use_fsync; both count). RangeSync
//    (sync_file_range) and Close do not make data durable and do not count. A file that
//    existed before this object saw it is durable as it is.
//  - a directory entry (a new file, a rename's target) once its directory's FSDirectory
//    Fsync / FsyncWithDirOptions returned OK after the entry was made.
// DropUnsyncedData() undoes the rest: renames not made durable are reversed (the source
// name comes back if it was durable, the target gets the content it had before, if that
// was durable), files created since their directory's last fsync are removed, and every
// other tracked file is truncated to its synced length. Not modelled: deletions are
// durable at once (a lost unlink would only resurrect an obsolete file), LinkFile adds an
// entry but tracks no content, and ReuseWritableFile / NewRandomRWFile are refused
// (NotSupported: RocksDB needs them only for recycled logs and file ingestion).
//
// SetActive(false): every later Append, Sync, Fsync, RangeSync, Truncate, Allocate, file
// creation, rename, link, delete and directory fsync silently succeeds without touching the
// disk. SetNoSpace(true): every Append / PositionedAppend (to the files chosen) fails with
// IOStatus::NoSpace and writes nothing, until SetNoSpace(false).
//
// Thread contract: thread-safe (one mutex over the bookkeeping; RocksDB calls from many
// threads). DropUnsyncedData() REQUIRES that no file is open for writing through this file
// system (close the database first).
#ifndef ISS_TESTS_TESTING_ROCKS_FAULT_INJECTION_FS_H_
#define ISS_TESTS_TESTING_ROCKS_FAULT_INJECTION_FS_H_

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace iss::test {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  // `base` must be a local POSIX file system (DropUnsyncedData truncates with truncate(2)).
  explicit FaultInjectionFs(
      std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());
  ~FaultInjectionFs() override;

  const char* Name() const override { return "iss.FaultInjectionFs"; }

  // false: the machine is dead from now on (see the file comment). Default: true.
  void SetActive(bool active) { active_.store(active); }
  bool IsActive() const { return active_.load(); }
  // true: appends fail with IOStatus::NoSpace until cleared; only to files whose path
  // contains `only_paths_containing` when that is not empty (".log": the WAL, ".sst": table
  // files, "MANIFEST"). Default: false.
  void SetNoSpace(bool no_space, const std::string& only_paths_containing = "");
  // Appends refused by SetNoSpace so far.
  int64_t no_space_failures() const { return no_space_failures_.load(); }

  // Puts the disk in the state a power loss now would leave (see the file comment). The
  // bookkeeping then starts afresh: what is left counts as durable.
  absl::Status DropUnsyncedData();

  // The durable length of `path` if this file system tracks it (it was created, reopened or
  // renamed through it), else nullopt.
  std::optional<uint64_t> SyncedBytes(const std::string& path) const;

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& opts,
                             rocksdb::IODebugContext* dbg) override;

 private:
  class TrackedFile;
  class NullFile;
  class TrackedDirectory;

  struct FileState {
    uint64_t size = 0;    // bytes written through us (the file's length)
    uint64_t synced = 0;  // of which durable
  };
  struct PendingRename {
    std::string src, dst;
    bool src_durable = false;            // src's entry was durable before the rename
    std::optional<std::string> dst_old;  // dst's durable content before, if any
  };
  // The entries of a directory not yet durable, as a directory fsync begins.
  struct DirSnapshot {
    std::set<std::string> entries;
    size_t renames = 0;
  };

  bool IsNewLocked(const std::string& path) const;  // REQUIRES: mu_ held
  std::shared_ptr<FileState> Track(const std::string& path, bool created, uint64_t size,
                                   uint64_t synced);
  DirSnapshot SnapshotDir(const std::string& dir) const;
  void CommitDir(const std::string& dir, const DirSnapshot& snapshot);
  void Grow(FileState* state, uint64_t end);
  void Cut(FileState* state, uint64_t size);
  uint64_t SizeOf(const FileState* state) const;
  void MarkSynced(FileState* state, uint64_t upto);

  std::atomic<bool> active_{true};
  bool NoSpaceFor(const std::string& path) const;

  std::atomic<bool> no_space_{false};
  std::string no_space_filter_;  // guarded by mu_
  std::atomic<int64_t> no_space_failures_{0};

  mutable std::mutex mu_;
  // Every file written through us, by normalized path.
  std::map<std::string, std::shared_ptr<FileState>> files_;  // guarded by mu_
  // Per directory: entries made since its last fsync.
  std::map<std::string, std::set<std::string>> new_entries_;  // guarded by mu_
  // Per directory of the target: renames since its last fsync, oldest first.
  std::map<std::string, std::vector<PendingRename>> renames_;  // guarded by mu_
};

}  // namespace iss::test

#endif  // ISS_TESTS_TESTING_ROCKS_FAULT_INJECTION_FS_H_
