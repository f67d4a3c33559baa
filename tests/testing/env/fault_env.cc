#include "testing/env/fault_env.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"

namespace iss::testing {

struct FaultInjectionEnv::FileState {
  uint64_t synced = 0;  // bytes a power cut keeps
};

namespace {

// Writes `bytes` to `path` through `env` (no sync: after a power cut, what is on disk is
// what there is).
absl::Status WriteRaw(Env* env, const std::string& path, const std::string& bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->NewWritableFile(path));
  RETURN_IF_ERROR(f->Append(bytes));
  return f->Close();
}

void Keep(absl::Status* first, const absl::Status& s) {
  if (first->ok() && !s.ok()) *first = s;
}

}  // namespace

class FaultWritableFile : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::unique_ptr<WritableFile> base,
                    std::shared_ptr<FaultInjectionEnv::FileState> state, std::string path)
      : env_(env), base_(std::move(base)), state_(std::move(state)), path_(std::move(path)) {}

  absl::Status Append(std::string_view data) override {
    {
      iss::MutexLock l(&env_->mu_);
      if (!env_->active_) return env_->Inactive("append " + path_);
    }
    RETURN_IF_ERROR(base_->Append(data));
    appended_ += data.size();
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    {
      iss::MutexLock l(&env_->mu_);
      if (!env_->active_) return env_->Inactive("sync " + path_);
      if (!env_->sync_enabled_) return absl::OkStatus();
    }
    RETURN_IF_ERROR(base_->Sync());
    iss::MutexLock l(&env_->mu_);
    state_->synced = appended_;
    return absl::OkStatus();
  }
  absl::Status Close() override { return base_->Close(); }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<FaultInjectionEnv::FileState> state_;
  const std::string path_;
  uint64_t appended_ = 0;  // the file was created or truncated when opened
};

class FaultRowFile : public RowFile {
 public:
  FaultRowFile(FaultInjectionEnv* env, std::unique_ptr<RowFile> base,
               std::shared_ptr<FaultInjectionEnv::FileState> state, std::string path)
      : env_(env), base_(std::move(base)), state_(std::move(state)), path_(std::move(path)) {}

  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }
  absl::Status Truncate(uint64_t size) override {
    {
      iss::MutexLock l(&env_->mu_);
      if (!env_->active_) return env_->Inactive("truncate " + path_);
    }
    RETURN_IF_ERROR(base_->Truncate(size));
    iss::MutexLock l(&env_->mu_);
    state_->synced = std::min(state_->synced, size);
    return absl::OkStatus();
  }
  absl::Status Append(const void* data, size_t n) override {
    {
      iss::MutexLock l(&env_->mu_);
      if (!env_->active_) return env_->Inactive("append " + path_);
    }
    return base_->Append(data, n);
  }
  absl::Status Sync() override {
    {
      iss::MutexLock l(&env_->mu_);
      if (!env_->active_) return env_->Inactive("sync " + path_);
      if (!env_->sync_enabled_) return absl::OkStatus();
    }
    RETURN_IF_ERROR(base_->Sync());
    ASSIGN_OR_RETURN(const uint64_t size, base_->Size());
    iss::MutexLock l(&env_->mu_);
    state_->synced = size;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length) override {
    return base_->Map(length);
  }

 private:
  FaultInjectionEnv* const env_;
  const std::unique_ptr<RowFile> base_;
  const std::shared_ptr<FaultInjectionEnv::FileState> state_;
  const std::string path_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

absl::Status FaultInjectionEnv::Inactive(const std::string& what) const {
  return Fail(Reason::kStorage, "(fault injection: file system inactive: " + what + ")");
}

std::shared_ptr<FaultInjectionEnv::FileState> FaultInjectionEnv::Track(const std::string& path,
                                                                       bool fresh) {
  std::shared_ptr<FileState>& st = files_[path];
  if (st == nullptr) {
    st = std::make_shared<FileState>();
    if (!fresh) st->synced = base_->FileSize(path).value_or(0);  // durable as it is
  } else if (fresh) {
    st->synced = 0;
  }
  return st;
}

absl::StatusOr<std::string> FaultInjectionEnv::DurableContent(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(base_, path));
  auto it = files_.find(path);
  if (it != files_.end() && bytes.size() > it->second->synced) bytes.resize(it->second->synced);
  return bytes;
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("create " + path);
  const bool existed = base_->FileExists(path);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->NewWritableFile(path));
  if (!existed) changes_.push_back({DirChange::kCreate, DirName(path), path});
  return std::unique_ptr<WritableFile>(
      new FaultWritableFile(this, std::move(f), Track(path, /*fresh=*/true), path));
}

absl::StatusOr<std::unique_ptr<SequentialFile>> FaultInjectionEnv::NewSequentialFile(
    const std::string& path) {
  return base_->NewSequentialFile(path);
}

absl::StatusOr<std::unique_ptr<RowFile>> FaultInjectionEnv::OpenRowFile(const std::string& path) {
  if (path.empty()) return base_->OpenRowFile(path);  // anonymous: nothing to lose
  iss::MutexLock l(&mu_);
  const bool existed = base_->FileExists(path);
  if (!active_ && !existed) return Inactive("create " + path);
  ASSIGN_OR_RETURN(std::unique_ptr<RowFile> f, base_->OpenRowFile(path));
  if (!existed) changes_.push_back({DirChange::kCreate, DirName(path), path});
  return std::unique_ptr<RowFile>(
      new FaultRowFile(this, std::move(f), Track(path, /*fresh=*/!existed), path));
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

absl::StatusOr<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::GetChildren(const std::string& dir) {
  return base_->GetChildren(dir);
}

absl::Status FaultInjectionEnv::CreateDirs(const std::string& dir) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("mkdir " + dir);
  return base_->CreateDirs(dir);
}

absl::Status FaultInjectionEnv::RemoveFileLocked(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, DurableContent(path));
  RETURN_IF_ERROR(base_->RemoveFile(path));
  DirChange c{DirChange::kRemove, DirName(path), path};
  c.old_bytes = std::move(bytes);
  changes_.push_back(std::move(c));
  files_.erase(path);
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("remove " + path);
  return RemoveFileLocked(path);
}

absl::Status FaultInjectionEnv::RemoveAll(const std::string& path) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("remove " + path);
  // Each file's removal is recorded (the POSIX tree under the base env), made durable by a
  // SyncDir of the removed tree's parent.
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec)) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  for (const std::string& f : files) {
    ASSIGN_OR_RETURN(std::string bytes, DurableContent(f));
    DirChange c{DirChange::kRemove, DirName(path), f};
    c.old_bytes = std::move(bytes);
    changes_.push_back(std::move(c));
    files_.erase(f);
  }
  return base_->RemoveAll(path);
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("rename " + from);
  DirChange c{DirChange::kRename, DirName(to), to, from};
  c.had_old = base_->FileExists(to);
  if (c.had_old) {
    ASSIGN_OR_RETURN(c.old_bytes, DurableContent(to));
  }
  std::shared_ptr<FileState> st = Track(from, /*fresh=*/false);
  RETURN_IF_ERROR(base_->RenameFile(from, to));
  files_.erase(from);
  files_[to] = std::move(st);
  changes_.push_back(std::move(c));
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  iss::MutexLock l(&mu_);
  if (!active_) return Inactive("sync " + dir);
  if (!sync_enabled_) return absl::OkStatus();
  RETURN_IF_ERROR(base_->SyncDir(dir));
  changes_.erase(std::remove_if(changes_.begin(), changes_.end(),
                                [&](const DirChange& c) { return c.dir == dir; }),
                 changes_.end());
  return absl::OkStatus();
}

uint64_t FaultInjectionEnv::MemAvailableBytes() { return base_->MemAvailableBytes(); }

void FaultInjectionEnv::SetSyncEnabled(bool enabled) {
  iss::MutexLock l(&mu_);
  sync_enabled_ = enabled;
}

void FaultInjectionEnv::SetFilesystemActive(bool active) {
  iss::MutexLock l(&mu_);
  active_ = active;
}

absl::Status FaultInjectionEnv::PowerCut() {
  iss::MutexLock l(&mu_);
  absl::Status first;
  // 1. Every file back to its synced length (state follows renames, so this is the file's
  // own durable prefix wherever it now lives).
  for (const auto& [path, st] : files_) {
    if (!base_->FileExists(path)) continue;
    absl::StatusOr<uint64_t> size = base_->FileSize(path);
    if (size.ok() && *size <= st->synced) continue;
    absl::StatusOr<std::unique_ptr<RowFile>> f = base_->OpenRowFile(path);
    Keep(&first, f.ok() ? (*f)->Truncate(st->synced) : f.status());
  }
  // 2. Undurable directory changes, newest first.
  for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
    const DirChange& c = *it;
    switch (c.kind) {
      case DirChange::kCreate:
        if (base_->FileExists(c.path)) Keep(&first, base_->RemoveFile(c.path));
        break;
      case DirChange::kRename:
        if (base_->FileExists(c.path)) Keep(&first, base_->RenameFile(c.path, c.from));
        if (c.had_old) Keep(&first, WriteRaw(base_, c.path, c.old_bytes));
        break;
      case DirChange::kRemove:
        Keep(&first, base_->CreateDirs(DirName(c.path)));
        Keep(&first, WriteRaw(base_, c.path, c.old_bytes));
        break;
    }
  }
  changes_.clear();
  files_.clear();  // what is on disk now is durable
  return first;
}

uint64_t FaultInjectionEnv::DurableBytes(const std::string& path) {
  iss::MutexLock l(&mu_);
  auto it = files_.find(path);
  if (it != files_.end()) return it->second->synced;
  return base_->FileSize(path).value_or(0);
}

size_t FaultInjectionEnv::PendingDirChanges() {
  iss::MutexLock l(&mu_);
  return changes_.size();
}

}  // namespace iss::testing
