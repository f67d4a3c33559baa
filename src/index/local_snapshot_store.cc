#include "index/local_snapshot_store.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/snapshot_io.h"

namespace iss::index {
namespace {

bool IsTemporary(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
}

}  // namespace

LocalSnapshotStore::LocalSnapshotStore(std::string root, Env* env)
    : root_(std::move(root)), env_(env != nullptr ? env : Env::Default()) {}

std::string LocalSnapshotStore::ShardName(uint64_t uid) {
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(uid));
  return name;
}

std::optional<uint64_t> LocalSnapshotStore::ParseShardName(std::string_view name) {
  if (name.size() != 16) return std::nullopt;
  uint64_t uid = 0;
  for (char c : name) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    uid = uid << 4 | uint64_t(digit);
  }
  return uid;
}

absl::StatusOr<std::string> LocalSnapshotStore::ShardDir(uint64_t uid) {
  std::string dir = root_ + "/" + ShardName(uid);
  RETURN_IF_ERROR(env_->CreateDirs(dir));
  return dir;
}

absl::Status LocalSnapshotStore::RemoveShard(uint64_t uid) {
  const std::string dir = root_ + "/" + ShardName(uid);
  if (!env_->FileExists(dir)) return absl::OkStatus();
  RETURN_IF_ERROR(env_->RemoveAll(dir));
  return env_->SyncDir(root_);
}

absl::StatusOr<std::vector<uint64_t>> LocalSnapshotStore::ListShards() {
  std::vector<uint64_t> uids;
  if (!env_->FileExists(root_)) return uids;
  ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(root_));
  for (const std::string& name : names) {
    if (std::optional<uint64_t> uid = ParseShardName(name)) uids.push_back(*uid);
  }
  std::sort(uids.begin(), uids.end());
  return uids;
}

absl::StatusOr<uint64_t> LocalSnapshotStore::CopyShardTo(uint64_t uid, const std::string& dst_dir) {
  const std::string dir = root_ + "/" + ShardName(uid), meta = dir + "/" + internal::kMetaFile;
  absl::Status last;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!env_->FileExists(meta)) return uint64_t{0};
    absl::StatusOr<std::string> before = ReadFileToString(env_, meta);
    if (!before.ok()) return before.status();
    RETURN_IF_ERROR(env_->RemoveAll(dst_dir));
    RETURN_IF_ERROR(env_->CreateDirs(dst_dir));
    ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir));
    uint64_t bytes = before->size();
    last = absl::OkStatus();
    for (const std::string& name : names) {
      if (name == internal::kMetaFile || IsTemporary(name)) continue;
      absl::StatusOr<uint64_t> n = CopyFile(env_, dir + "/" + name, dst_dir + "/" + name);
      if (!n.ok()) {  // removed by a newer snapshot while we copied: try again
        last = n.status();
        break;
      }
      bytes += *n;
    }
    absl::StatusOr<std::string> after = ReadFileToString(env_, meta);
    if (last.ok() && after.ok() && *after == *before) {
      RETURN_IF_ERROR(WriteFileAtomically(env_, dst_dir + "/" + internal::kMetaFile, *before));
      RETURN_IF_ERROR(env_->SyncDir(dst_dir));
      return bytes;
    }
    if (last.ok()) last = Fail(Reason::kUnavailable, "(a new snapshot was committed meanwhile)");
  }
  (void)env_->RemoveAll(dst_dir);
  return Fail(Reason::kUnavailable, "(shard " + ShardName(uid) + "'s snapshot kept changing: " +
                                        std::string(last.message()) + ")");
}

}  // namespace iss::index
