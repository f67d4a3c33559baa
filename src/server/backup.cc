#include "server/backup.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/local_snapshot_store.h"
#include "store/kv.h"

namespace iss::server {
namespace {

namespace fs = std::filesystem;
using api::admin::BackupInfo;
using json = nlohmann::json;

constexpr int kBackupFormat = 1;
constexpr char kManifest[] = "MANIFEST.json";
// Files of the data directory a backup carries besides db/ and index/.
constexpr const char* kTopFiles[] = {"server.key", "FORMAT"};

struct FileSum {
  std::string path;  // relative to the backup's root
  uint64_t size = 0;
  uint32_t crc = 0;
};

absl::StatusOr<FileSum> Sum(Env* env, const std::string& root, const std::string& rel) {
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(root + "/" + rel));
  std::string buf(size_t{1} << 20, '\0');
  FileSum sum{rel, 0, uint32_t(crc32(0, nullptr, 0))};
  while (true) {
    ASSIGN_OR_RETURN(size_t n, f->Read(buf.data(), buf.size()));
    if (n == 0) break;
    sum.crc = uint32_t(crc32(sum.crc, reinterpret_cast<const Bytef*>(buf.data()), uInt(n)));
    sum.size += n;
  }
  return sum;
}

// Every regular file under `root`, relative, sorted (the manifest leaves itself out).
absl::StatusOr<std::vector<std::string>> Walk(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), root, ec).string();
    if (rel != kManifest) out.push_back(std::move(rel));
  }
  if (ec) return Fail(Reason::kStorage, "(cannot list " + root + ": " + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

// Syncs every directory under `root` and `root` itself (new entries durable).
absl::Status SyncTree(Env* env, const std::string& root) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory()) RETURN_IF_ERROR(env->SyncDir(it->path().string()));
  }
  return env->SyncDir(root);
}

bool UnderRoot(const std::string& target, const std::vector<std::string>& roots) {
  const fs::path t = fs::path(target).lexically_normal();
  for (const std::string& r : roots) {
    const fs::path root = fs::path(r).lexically_normal();
    auto [ri, ti] = std::mismatch(root.begin(), root.end(), t.begin(), t.end());
    // Strictly below the root: every root component matched and something follows.
    if ((ri == root.end() || ri->empty()) && ti != t.end()) return true;
  }
  return false;
}

}  // namespace

BackupManager::BackupManager(store::Database* db, index::LocalSnapshotStore* snapshots,
                             std::string data_dir, BackupOptions options, Env* env,
                             const Clock* clock)
    : db_(db),
      snapshots_(snapshots),
      data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      env_(env),
      clock_(clock) {}

BackupManager::~BackupManager() {
  if (worker_.joinable()) worker_.join();
}

absl::StatusOr<BackupInfo> BackupManager::Start(const std::string& target) {
  if (options_.dirs.empty()) {
    return Fail(Reason::kInvalidArgument, "(backups are off: set backup.dirs)");
  }
  if (target.empty() || target[0] != '/' || target.find("/..") != std::string::npos ||
      !UnderRoot(target, options_.dirs)) {
    return Fail(Reason::kInvalidArgument,
                "(`target` must be an absolute path below one of backup.dirs)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!backups_.empty() && backups_.back().state == "running") {
    return Fail(Reason::kUnavailable, "(backup " + backups_.back().id + " is running)");
  }
  std::error_code ec;
  if (fs::exists(target, ec)) return Fail(Reason::kInvalidArgument, "(" + target + " exists)");
  if (worker_.joinable()) worker_.join();  // finished: its state is not "running"
  BackupInfo b;
  b.started_ms = clock_->NowMs();
  b.id = "bk-" + std::to_string(b.started_ms);
  if (!backups_.empty() && backups_.back().id.rfind(b.id, 0) == 0) {
    b.id += "-" + std::to_string(backups_.size());  // two in one millisecond
  }
  b.target = fs::path(target).lexically_normal().string();
  b.state = "running";
  backups_.push_back(b);
  worker_ = std::thread([this, i = backups_.size() - 1] { Run(i); });
  return b;
}

std::vector<BackupInfo> BackupManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<BackupInfo>(backups_.rbegin(), backups_.rend());
}

absl::StatusOr<BackupInfo> BackupManager::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const BackupInfo& b : backups_) {
    if (b.id == id) return b;
  }
  return Fail(Reason::kItemNotFound, "(no backup `" + id + "`)");
}

void BackupManager::Count(size_t index, uint64_t files, uint64_t bytes, uint64_t shards) {
  std::lock_guard<std::mutex> lock(mu_);
  backups_[index].files += files;
  backups_[index].bytes += bytes;
  backups_[index].shards += shards;
}

void BackupManager::Run(size_t index) {
  std::string target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = backups_[index].target;
  }
  spdlog::info("backup: writing {}", target);
  absl::Status s = Copy(index);
  std::lock_guard<std::mutex> lock(mu_);
  BackupInfo& b = backups_[index];
  b.finished_ms = clock_->NowMs();
  b.state = s.ok() ? "done" : "failed";
  if (!s.ok()) {
    b.error = std::string(ReasonName(ReasonOf(s))) + " " + std::string(s.message());
    spdlog::error("backup {} failed: {}", b.id, b.error);
  } else {
    spdlog::info("backup {}: {} files, {} bytes, {} index snapshots in {} ms", b.id, b.files,
                 b.bytes, b.shards, b.finished_ms - b.started_ms);
  }
}

absl::Status BackupManager::Copy(size_t index) {
  std::string target;
  int64_t started_ms = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = backups_[index].target;
    started_ms = backups_[index].started_ms;
  }
  RETURN_IF_ERROR(env_->CreateDirs(target + "/index"));
  // 1. The index snapshots (older than the checkpoint: replayed forward at start).
  ASSIGN_OR_RETURN(std::vector<uint64_t> uids, snapshots_->ListShards());
  for (uint64_t uid : uids) {
    const std::string name = index::LocalSnapshotStore::ShardName(uid);
    absl::StatusOr<uint64_t> bytes = snapshots_->CopyShardTo(uid, target + "/index/" + name);
    if (!bytes.ok()) {
      // A shard that cannot be copied is rebuilt from the store at restore: slower, not less.
      spdlog::warn("backup: index snapshot {} left out: {}", name,
                   std::string(bytes.status().message()));
      continue;
    }
    if (*bytes > 0) Count(index, 0, *bytes, 1);
  }
  // 2. The store, every namespace at one instant.
  RETURN_IF_ERROR(db_->Checkpoint(target + "/db"));
  // 3. The key file and the format version.
  for (const char* name : kTopFiles) {
    const std::string from = data_dir_ + "/" + name;
    if (!env_->FileExists(from)) continue;
    RETURN_IF_ERROR(CopyFile(env_, from, target + "/" + name).status());
  }
  std::error_code ec;
  fs::permissions(target + "/server.key", fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace, ec);
  // 4. The manifest: every file read back and summed; its rename is the commit point.
  ASSIGN_OR_RETURN(std::vector<std::string> files, Walk(target));
  json list = json::array();
  uint64_t total = 0;
  for (const std::string& rel : files) {
    ASSIGN_OR_RETURN(FileSum sum, Sum(env_, target, rel));
    list.push_back({{"path", sum.path}, {"size", sum.size}, {"crc32", sum.crc}});
    total += sum.size;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    backups_[index].files = files.size();
    backups_[index].bytes = total;
  }
  RETURN_IF_ERROR(SyncTree(env_, target));
  json manifest = {{"format", kBackupFormat},
                   {"created_ms", started_ms},
                   {"files", std::move(list)},
                   {"bytes", total}};
  RETURN_IF_ERROR(WriteFileAtomically(env_, target + "/" + kManifest, manifest.dump(1) + "\n"));
  return env_->SyncDir(DirName(target));
}

absl::StatusOr<BackupManifest> VerifyBackup(const std::string& dir, Env* env) {
  const std::string path = dir + "/" + kManifest;
  if (!env->FileExists(path)) {
    return Fail(Reason::kInvalidArgument,
                "(" + dir + " holds no " + kManifest + ": not a backup, or an unfinished one)");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, path));
  json m = json::parse(text, nullptr, false);
  if (!m.is_object() || !m.value("files", json()).is_array() ||
      !m.value("format", json()).is_number_integer()) {
    return Fail(Reason::kCorrupt, "(" + path + " is not a backup manifest)");
  }
  BackupManifest out;
  out.format = m["format"].get<int>();
  if (out.format != kBackupFormat) {
    return Fail(Reason::kInvalidArgument,
                "(backup format " + std::to_string(out.format) + " is not one this build reads)");
  }
  out.created_ms = m.value("created_ms", int64_t{0});
  for (const json& f : m["files"]) {
    if (!f.is_object() || !f.value("path", json()).is_string() ||
        !f.value("size", json()).is_number_unsigned() ||
        !f.value("crc32", json()).is_number_unsigned()) {
      return Fail(Reason::kCorrupt, "(" + path + " has a malformed entry)");
    }
    const std::string rel = f["path"].get<std::string>();
    if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos) {
      return Fail(Reason::kCorrupt, "(" + path + " names `" + rel + "`)");
    }
    absl::StatusOr<FileSum> sum = Sum(env, dir, rel);
    if (!sum.ok()) return Fail(Reason::kCorrupt, "(" + rel + " is missing from the backup)");
    if (sum->size != f["size"].get<uint64_t>() || sum->crc != f["crc32"].get<uint32_t>()) {
      return Fail(Reason::kCorrupt, "(" + rel + " differs from the manifest: damaged backup)");
    }
    ++out.files;
    out.bytes += sum->size;
  }
  return out;
}

absl::StatusOr<BackupManifest> RestoreBackup(const std::string& from, const std::string& data_dir,
                                             Env* env) {
  ASSIGN_OR_RETURN(BackupManifest manifest, VerifyBackup(from, env));
  std::error_code ec;
  if (fs::exists(data_dir + "/db", ec) || fs::exists(data_dir + "/index", ec)) {
    return Fail(Reason::kInvalidArgument,
                "(" + data_dir + " already holds data: restore into a new directory)");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> files, Walk(from));
  for (const std::string& rel : files) {
    const std::string to = data_dir + "/" + rel;
    RETURN_IF_ERROR(env->CreateDirs(DirName(to)));
    RETURN_IF_ERROR(CopyFile(env, from + "/" + rel, to).status());
  }
  fs::permissions(data_dir + "/server.key", fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace, ec);
  RETURN_IF_ERROR(SyncTree(env, data_dir));
  return manifest;
}

}  // namespace iss::server
