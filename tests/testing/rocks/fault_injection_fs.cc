#include "testing/rocks/fault_injection_fs.h"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace iss::test {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string Normal(const std::string& path) {
  std::string s = std::filesystem::path(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string DirOf(const std::string& normal_path) {
  return std::filesystem::path(normal_path).parent_path().string();
}

absl::Status FromIo(const IOStatus& s, const std::string& what) {
  if (s.ok() || s.IsNotFound() || s.IsPathNotFound()) return absl::OkStatus();
  return absl::InternalError(what + ": " + s.ToString());
}

}  // namespace

// A file written through us: its appends grow the tracked size, its syncs make it durable.
class FaultInjectionFs::TrackedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultInjectionFs* fs,
              std::shared_ptr<FileState> state, std::string path)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        state_(std::move(state)),
        path_(std::move(path)) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    if (fs_->NoSpaceFor(path_)) {
      fs_->no_space_failures_.fetch_add(1);
      return IOStatus::NoSpace("injected: no space left on device");
    }
    IOStatus s = target()->Append(data, options, dbg);
    if (s.ok()) fs_->Grow(state_.get(), fs_->SizeOf(state_.get()) + data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options, const rocksdb::DataVerificationInfo&,
                  IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    if (fs_->NoSpaceFor(path_)) {
      fs_->no_space_failures_.fetch_add(1);
      return IOStatus::NoSpace("injected: no space left on device");
    }
    IOStatus s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) fs_->Grow(state_.get(), offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) fs_->Cut(state_.get(), size);
    return s;
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    return target()->Flush(options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    // Only what was written before the sync began is covered by it (RocksDB may append
    // from another thread while a thread-safe sync runs).
    const uint64_t upto = fs_->SizeOf(state_.get());
    IOStatus s = target()->Sync(options, dbg);
    if (s.ok()) fs_->MarkSynced(state_.get(), upto);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    const uint64_t upto = fs_->SizeOf(state_.get());
    IOStatus s = target()->Fsync(options, dbg);
    if (s.ok()) fs_->MarkSynced(state_.get(), upto);
    return s;
  }
  // sync_file_range(2) writes pages out but persists no metadata and flushes no disk cache:
  // not a durability point.
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    return target()->RangeSync(offset, nbytes, options, dbg);
  }
  IOStatus Allocate(uint64_t offset, uint64_t len, const IOOptions& options,
                    IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    return target()->Allocate(offset, len, options, dbg);
  }
  // Closing persists nothing; the descriptor is released whether or not the machine is dead.
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    return target()->Close(options, dbg);
  }

 private:
  FaultInjectionFs* fs_;
  std::shared_ptr<FileState> state_;
  const std::string path_;  // as opened (a rename does not matter for the filter)
};

// A file opened after the machine died: accepts everything, keeps nothing, touches no disk.
class FaultInjectionFs::NullFile : public rocksdb::FSWritableFile {
 public:
  IOStatus Append(const Slice& data, const IOOptions&, IODebugContext*) override {
    size_ += data.size();
    return IOStatus::OK();
  }
  IOStatus Close(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }
  IOStatus Flush(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }
  IOStatus Sync(const IOOptions&, IODebugContext*) override { return IOStatus::OK(); }
  uint64_t GetFileSize(const IOOptions&, IODebugContext*) override { return size_; }

 private:
  uint64_t size_ = 0;
};

class FaultInjectionFs::TrackedDirectory : public rocksdb::FSDirectory {
 public:
  TrackedDirectory(std::unique_ptr<rocksdb::FSDirectory> target, FaultInjectionFs* fs,
                   std::string dir)
      : target_(std::move(target)), fs_(fs), dir_(std::move(dir)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    DirSnapshot snapshot = fs_->SnapshotDir(dir_);
    IOStatus s = target_->Fsync(options, dbg);
    if (s.ok()) fs_->CommitDir(dir_, snapshot);
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    if (!fs_->IsActive()) return IOStatus::OK();
    DirSnapshot snapshot = fs_->SnapshotDir(dir_);
    IOStatus s = target_->FsyncWithDirOptions(options, dbg, dir_options);
    if (s.ok()) fs_->CommitDir(dir_, snapshot);
    return s;
  }
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    return target_->Close(options, dbg);
  }
  size_t GetUniqueId(char* id, size_t max_size) const override {
    return target_->GetUniqueId(id, max_size);
  }

 private:
  std::unique_ptr<rocksdb::FSDirectory> target_;
  FaultInjectionFs* fs_;
  std::string dir_;
};

FaultInjectionFs::FaultInjectionFs(std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(base) {}

FaultInjectionFs::~FaultInjectionFs() = default;

void FaultInjectionFs::SetNoSpace(bool no_space, const std::string& only_paths_containing) {
  std::lock_guard<std::mutex> lock(mu_);
  no_space_filter_ = only_paths_containing;
  no_space_.store(no_space);
}

bool FaultInjectionFs::NoSpaceFor(const std::string& path) const {
  if (!no_space_.load()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return no_space_filter_.empty() || path.find(no_space_filter_) != std::string::npos;
}

bool FaultInjectionFs::IsNewLocked(const std::string& path) const {
  auto it = new_entries_.find(DirOf(path));
  return it != new_entries_.end() && it->second.count(path) > 0;
}

std::shared_ptr<FaultInjectionFs::FileState> FaultInjectionFs::Track(const std::string& path,
                                                                     bool created, uint64_t size,
                                                                     uint64_t synced) {
  std::lock_guard<std::mutex> lock(mu_);
  auto state = std::make_shared<FileState>();
  state->size = size;
  state->synced = synced;
  files_[path] = state;
  if (created) new_entries_[DirOf(path)].insert(path);
  return state;
}

FaultInjectionFs::DirSnapshot FaultInjectionFs::SnapshotDir(const std::string& dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  DirSnapshot snapshot;
  if (auto it = new_entries_.find(dir); it != new_entries_.end()) snapshot.entries = it->second;
  if (auto it = renames_.find(dir); it != renames_.end()) snapshot.renames = it->second.size();
  return snapshot;
}

void FaultInjectionFs::CommitDir(const std::string& dir, const DirSnapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = new_entries_.find(dir); it != new_entries_.end()) {
    for (const std::string& e : snapshot.entries) it->second.erase(e);
  }
  if (auto it = renames_.find(dir); it != renames_.end()) {
    auto& list = it->second;
    list.erase(list.begin(), list.begin() + std::min(snapshot.renames, list.size()));
  }
}

void FaultInjectionFs::Grow(FileState* state, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  state->size = std::max(state->size, end);
}

void FaultInjectionFs::Cut(FileState* state, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  state->size = size;
  state->synced = std::min(state->synced, size);
}

uint64_t FaultInjectionFs::SizeOf(const FileState* state) const {
  std::lock_guard<std::mutex> lock(mu_);
  return state->size;
}

void FaultInjectionFs::MarkSynced(FileState* state, uint64_t upto) {
  std::lock_guard<std::mutex> lock(mu_);
  state->synced = std::max(state->synced, std::min(upto, state->size));
}

std::optional<uint64_t> FaultInjectionFs::SyncedBytes(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(Normal(path));
  if (it == files_.end()) return std::nullopt;
  return it->second->synced;
}

IOStatus FaultInjectionFs::NewWritableFile(const std::string& fname,
                                           const rocksdb::FileOptions& opts,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                                           IODebugContext* dbg) {
  if (!IsActive()) {
    *result = std::make_unique<NullFile>();
    return IOStatus::OK();
  }
  const std::string path = Normal(fname);
  const bool existed = target()->FileExists(fname, IOOptions(), dbg).ok();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(fname, opts, &file, dbg);
  if (!s.ok()) return s;
  // An existing file is truncated: its entry stays (as durable as it was), its bytes are new.
  *result = std::make_unique<TrackedFile>(std::move(file), this, Track(path, !existed, 0, 0), path);
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::ReopenWritableFile(const std::string& fname,
                                              const rocksdb::FileOptions& opts,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              IODebugContext* dbg) {
  if (!IsActive()) {
    *result = std::make_unique<NullFile>();
    return IOStatus::OK();
  }
  const std::string path = Normal(fname);
  uint64_t size = 0;
  const bool existed = target()->GetFileSize(fname, IOOptions(), &size, dbg).ok();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(fname, opts, &file, dbg);
  if (!s.ok()) return s;
  std::shared_ptr<FileState> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = files_.find(path); it != files_.end()) state = it->second;
  }
  // A file we did not write is durable as it is.
  if (state == nullptr) state = Track(path, !existed, size, size);
  *result = std::make_unique<TrackedFile>(std::move(file), this, std::move(state), path);
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::ReuseWritableFile(const std::string&, const std::string&,
                                             const rocksdb::FileOptions&,
                                             std::unique_ptr<rocksdb::FSWritableFile>*,
                                             IODebugContext*) {
  return IOStatus::NotSupported("FaultInjectionFs: ReuseWritableFile (recycled logs)");
}

IOStatus FaultInjectionFs::NewRandomRWFile(const std::string&, const rocksdb::FileOptions&,
                                           std::unique_ptr<rocksdb::FSRandomRWFile>*,
                                           IODebugContext*) {
  return IOStatus::NotSupported("FaultInjectionFs: NewRandomRWFile");
}

IOStatus FaultInjectionFs::NewDirectory(const std::string& name, const IOOptions& opts,
                                        std::unique_ptr<rocksdb::FSDirectory>* result,
                                        IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> dir;
  IOStatus s = target()->NewDirectory(name, opts, &dir, dbg);
  if (!s.ok()) return s;
  *result = std::make_unique<TrackedDirectory>(std::move(dir), this, Normal(name));
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::DeleteFile(const std::string& fname, const IOOptions& opts,
                                      IODebugContext* dbg) {
  if (!IsActive()) return IOStatus::OK();
  IOStatus s = target()->DeleteFile(fname, opts, dbg);
  if (s.ok()) {
    const std::string path = Normal(fname);
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(path);
    if (auto it = new_entries_.find(DirOf(path)); it != new_entries_.end()) it->second.erase(path);
  }
  return s;
}

IOStatus FaultInjectionFs::RenameFile(const std::string& src, const std::string& dst,
                                      const IOOptions& opts, IODebugContext* dbg) {
  if (!IsActive()) return IOStatus::OK();
  const std::string from = Normal(src), to = Normal(dst);
  PendingRename r;
  r.src = from;
  r.dst = to;
  bool dst_durable = false;
  uint64_t dst_synced = UINT64_MAX;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.src_durable = !IsNewLocked(from);
    dst_durable = !IsNewLocked(to);
    if (auto it = files_.find(to); it != files_.end()) dst_synced = it->second->synced;
  }
  if (dst_durable && target()->FileExists(dst, IOOptions(), dbg).ok()) {
    std::string old;
    if (rocksdb::ReadFileToString(target(), dst, &old).ok()) {
      if (old.size() > dst_synced) old.resize(dst_synced);
      r.dst_old = std::move(old);
    }
  }
  IOStatus s = target()->RenameFile(src, dst, opts, dbg);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(to);
  if (auto it = files_.find(from); it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  }
  if (auto it = new_entries_.find(DirOf(from)); it != new_entries_.end()) it->second.erase(from);
  if (auto it = new_entries_.find(DirOf(to)); it != new_entries_.end()) it->second.erase(to);
  renames_[DirOf(to)].push_back(std::move(r));
  return s;
}

IOStatus FaultInjectionFs::LinkFile(const std::string& src, const std::string& dst,
                                    const IOOptions& opts, IODebugContext* dbg) {
  if (!IsActive()) return IOStatus::OK();
  IOStatus s = target()->LinkFile(src, dst, opts, dbg);
  if (s.ok()) {
    const std::string to = Normal(dst);
    std::lock_guard<std::mutex> lock(mu_);
    new_entries_[DirOf(to)].insert(to);
  }
  return s;
}

IOStatus FaultInjectionFs::Truncate(const std::string& fname, size_t size, const IOOptions& opts,
                                    IODebugContext* dbg) {
  if (!IsActive()) return IOStatus::OK();
  IOStatus s = target()->Truncate(fname, size, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = files_.find(Normal(fname)); it != files_.end()) {
      it->second->size = size;
      it->second->synced = std::min<uint64_t>(it->second->synced, size);
    }
  }
  return s;
}

absl::Status FaultInjectionFs::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::FileSystem* fs = target();
  const IOOptions io;
  absl::Status first;
  auto keep = [&first](absl::Status s) {
    if (first.ok()) first = std::move(s);
  };
  // 1. Renames not made durable, newest first: the target's old entry and content return.
  for (auto& [dir, list] : renames_) {
    for (auto r = list.rbegin(); r != list.rend(); ++r) {
      if (fs->FileExists(r->dst, io, nullptr).ok()) {
        if (r->src_durable) {
          keep(FromIo(fs->RenameFile(r->dst, r->src, io, nullptr), "undo rename " + r->dst));
          if (auto it = files_.find(r->dst); it != files_.end()) {
            files_[r->src] = it->second;
            files_.erase(it);
          }
        } else {
          keep(FromIo(fs->DeleteFile(r->dst, io, nullptr), "undo rename " + r->dst));
          files_.erase(r->dst);
        }
      }
      if (r->dst_old) {
        keep(FromIo(rocksdb::WriteStringToFile(fs, *r->dst_old, r->dst, false),
                    "restore " + r->dst));
        files_.erase(r->dst);
      }
    }
  }
  renames_.clear();
  // 2. Entries created since their directory's last fsync.
  for (auto& [dir, entries] : new_entries_) {
    for (const std::string& path : entries) {
      keep(FromIo(fs->DeleteFile(path, io, nullptr), "remove " + path));
      files_.erase(path);
    }
  }
  new_entries_.clear();
  // 3. Every other file we wrote, back to its synced length.
  for (auto& [path, state] : files_) {
    // The default FileSystem has no Truncate in 7.8: truncate(2) through std::filesystem.
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      std::filesystem::resize_file(path, state->synced, ec);
      if (ec) keep(absl::InternalError("truncate " + path + ": " + ec.message()));
    }
    state->size = state->synced;
  }
  return first;
}

}  // namespace iss::test
