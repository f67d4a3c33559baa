// The file system and machine facts our own files go through (the index's vector files
// and snapshots, key files): one seam, so tests can inject faults (a wrapper that drops
// every byte not yet synced at a simulated power cut, tests/testing/fault_env.h) and
// nothing below reaches for ::open or /proc on its own. RocksDB has its own Env; the
// store adapter wires that one.
//
//   Env* env = Env::Default();
//   ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->NewWritableFile(dir + "/x.tmp"));
//   RETURN_IF_ERROR(f->Append(bytes));
//   RETURN_IF_ERROR(f->Sync());               // durable once this returns OK
//   RETURN_IF_ERROR(f->Close());
//   RETURN_IF_ERROR(env->RenameFile(dir + "/x.tmp", dir + "/x"));
//   RETURN_IF_ERROR(env->SyncDir(dir));       // the rename is durable
//
// Failures are statuses with Reason::kStorage (Reason::kNoSpace for ENOSPC/EDQUOT), the
// path and the system's message in the detail.
// Thread contract: Env methods are thread-safe. A file object is used by one thread at a
// time, except RowFile, whose Map() regions may be read by any thread.
#ifndef ISS_COMMON_ENV_H_
#define ISS_COMMON_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace iss {

// A file written from its start, sequentially (snapshots, temporary files).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fsync).
  virtual absl::Status Sync() = 0;
  // Closes without syncing. Appends after Close fail.
  virtual absl::Status Close() = 0;
};

// A file read from its start, sequentially.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes into buf; returns how many (0 at the end of the file).
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// A read-only shared mapping of a file; unmapped on destruction. It may extend past the
// end of the file (pages there must not be touched until the file has grown over them).
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
  // How many of the pages holding data()[offsets[i]] are in the page cache (mincore).
  virtual size_t Resident(const std::vector<size_t>& offsets) const = 0;
  // Asks the kernel to start reading the pages holding data()[offsets[i], + length) into
  // the page cache without waiting for them (madvise MADV_WILLNEED). A hint: may do nothing.
  virtual void WillNeed(const std::vector<size_t>& offsets, size_t length) const {
    (void)offsets;
    (void)length;
  }
};

// An append-only file of records read through shared mappings (the index's vector file).
// Appended bytes are visible through every mapping at once (one page cache).
class RowFile {
 public:
  virtual ~RowFile() = default;
  virtual absl::StatusOr<uint64_t> Size() = 0;
  // Cuts the file to `size` bytes (drops rows written after a snapshot).
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Writes n bytes at the current end of the file.
  virtual absl::Status Append(const void* data, size_t n) = 0;
  // Makes every byte appended so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
  virtual absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length) = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process's POSIX file system. Never deleted.
  static Env* Default();

  // Creates or truncates `path`.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) = 0;
  // Opens `path` for appends and maps, creating it when missing. An empty path gives an
  // anonymous temporary file that disappears when closed (for unpersisted indexes).
  virtual absl::StatusOr<std::unique_ptr<RowFile>> OpenRowFile(const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`.
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // Creates `dir` and its missing parents.
  virtual absl::Status CreateDirs(const std::string& dir) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Removes `path` and everything under it; OK when it does not exist.
  virtual absl::Status RemoveAll(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (durable after SyncDir of the directory).
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  // MemAvailable of the machine in bytes (0 when unknown).
  virtual uint64_t MemAvailableBytes() = 0;
};

// Reads the whole file.
absl::StatusOr<std::string> ReadFileToString(Env* env, const std::string& path);

// Writes `path` so that after a crash it holds either its old content or `data`, never a
// mix: a temporary file beside it, Sync, rename, SyncDir.
absl::Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data);

// Copies `from` to `to` (created or truncated) in 1 MiB reads and syncs `to`; the bytes
// copied. The caller syncs the directory.
absl::StatusOr<uint64_t> CopyFile(Env* env, const std::string& from, const std::string& to);

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

// A status for a failed system call: kNoSpace for ENOSPC/EDQUOT, else kStorage.
absl::Status IoError(const std::string& what, int err);

}  // namespace iss

#endif  // ISS_COMMON_ENV_H_
