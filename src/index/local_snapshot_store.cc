#include "index/local_snapshot_store.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/status_macros.h"

namespace iss::index {

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

}  // namespace iss::index
