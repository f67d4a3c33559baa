// store::Database on RocksDB: one database per server, one column family per namespace.
//
// Every write uses WriteOptions::sync (WAL fsync before OK) unless a benchmark turned
// DatabaseOptions::sync_writes off. RocksDB reports failures as rocksdb::Status (it does
// not throw); they become iss::Fail with a Reason (kStorage, kNoSpace, kCorrupt, or
// kUnavailable at Open) and the RocksDB message as detail. Column families are listed and
// reopened at Open(); a new namespace creates its column family on first use.
//
// Thread contract: Database and every Kv are thread-safe (RocksDB's own guarantees; the
// namespace map is guarded by a mutex).
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/kv.h"
#include "store/rocks_testing.h"

namespace iss::store {
namespace {

bool IsNoSpace(const rocksdb::Status& s) {
  if (s.ok()) return false;
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) return true;
  // An IOError made from a bare errno (ENOSPC) without the subcode.
  return s.IsIOError() && s.ToString().find("No space left on device") != std::string::npos;
}

absl::Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  std::string detail = std::string("(storage ") + what + ": " + s.ToString() + ")";
  if (IsNoSpace(s)) return Fail(Reason::kNoSpace, detail);
  if (s.IsCorruption()) return Fail(Reason::kCorrupt, detail);
  return Fail(Reason::kStorage, detail);
}

rocksdb::Slice S(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// The smallest key greater than every key starting with `prefix`; empty when none exists
// (prefix is all 0xff bytes), meaning "no upper bound".
std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char c = static_cast<unsigned char>(out.back());
    if (c != 0xff) {
      out.back() = static_cast<char>(c + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

class RocksKv : public Kv {
 public:
  RocksKv(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, bool sync) : db_(db), cf_(cf) {
    wo_.sync = sync;
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, S(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s, "get");
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    return Done(db_->Put(wo_, cf_, S(key), S(value)), "put");
  }

  absl::Status Delete(std::string_view key) override {
    return Done(db_->Delete(wo_, cf_, S(key)), "delete");
  }

  absl::Status Write(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      rocksdb::Status s = value ? batch.Put(cf_, key, *value) : batch.Delete(cf_, key);
      if (!s.ok()) return FromRocks(s, "batch");
    }
    return Done(db_->Write(wo_, &batch), "write");
  }

  absl::Status DeleteRange(std::string_view begin, std::string_view end) override {
    if (!(S(begin).compare(S(end)) < 0)) return absl::OkStatus();  // empty range
    return Done(db_->DeleteRange(wo_, cf_, S(begin), S(end)), "delete range");
  }

  void CompactRange(std::string_view begin, std::string_view end) override {
    rocksdb::Slice bs = S(begin), es = S(end);
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    // Best effort by contract: a failed compaction only delays reclaiming space.
    (void)db_->CompactRange(options, cf_, &bs, &es);
  }

  absl::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    rocksdb::ReadOptions ro;
    std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
    for (it->Seek(S(prefix)); it->Valid() && it->key().starts_with(S(prefix)); it->Next()) {
      rocksdb::Slice k = it->key(), v = it->value();
      if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) {
        break;
      }
    }
    return FromRocks(it->status(), "scan");
  }

 private:
  absl::Status Done(const rocksdb::Status& s, const char* what) { return FromRocks(s, what); }

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  rocksdb::WriteOptions wo_;
};

rocksdb::ColumnFamilyOptions FamilyOptions() {
  rocksdb::ColumnFamilyOptions opts;
  opts.compression = rocksdb::kLZ4Compression;
  opts.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return opts;
}

class RocksDatabase : public Database {
 public:
  RocksDatabase(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync,
                std::unique_ptr<rocksdb::Env> env)
      : env_(std::move(env)), db_(db), sync_(sync) {
    for (rocksdb::ColumnFamilyHandle* h : handles) handles_[h->GetName()] = h;
  }

  ~RocksDatabase() override {
    namespaces_.clear();
    for (auto& [name, h] : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    (void)db_->Close();
    delete db_;
  }

  absl::StatusOr<Kv*> Namespace(const std::string& name) override {
    if (name.empty()) return Fail(Reason::kInvalidArgument, "(empty namespace name)");
    std::lock_guard<std::mutex> lock(mu_);
    auto& kv = namespaces_[name];
    if (kv) return kv.get();
    rocksdb::ColumnFamilyHandle*& handle = handles_[name];
    if (handle == nullptr) {
      rocksdb::Status s = db_->CreateColumnFamily(FamilyOptions(), name, &handle);
      if (!s.ok()) {
        handles_.erase(name);
        namespaces_.erase(name);
        return FromRocks(s, "create namespace");
      }
    }
    kv = std::make_unique<RocksKv>(db_, handle, sync_);
    return kv.get();
  }

 private:
  std::unique_ptr<rocksdb::Env> env_;  // null: Env::Default(); outlives db_
  rocksdb::DB* db_;                    // owned; deleted after its column family handles
  bool sync_;
  std::mutex mu_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> handles_;  // guarded by mu_
  std::map<std::string, std::unique_ptr<RocksKv>> namespaces_;   // guarded by mu_
};

absl::StatusOr<std::unique_ptr<Database>> OpenWith(const std::string& dir,
                                                   const DatabaseOptions& options,
                                                   std::unique_ptr<rocksdb::Env> env) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // parents too; RocksDB makes only the leaf
  if (ec) {
    return Fail(Reason::kUnavailable,
                "(cannot create the database directory " + dir + ": " + ec.message() + ")");
  }
  rocksdb::DBOptions db_opts;
  if (env) db_opts.env = env.get();
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.keep_log_file_num = 5;

  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_opts, dir, &names);
  if (!s.ok() || names.empty()) names = {rocksdb::kDefaultColumnFamilyName};  // new database
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.emplace_back(name, FamilyOptions());

  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  s = rocksdb::DB::Open(db_opts, dir, families, &handles, &raw);
  if (s.IsCorruption()) {
    std::string detail =
        "(the database in " + dir + " is damaged, refusing to open it: " + s.ToString() + ")";
    return Fail(Reason::kCorrupt, detail);
  }
  if (IsNoSpace(s)) {
    return Fail(Reason::kNoSpace,
                "(cannot open the database in " + dir + ": " + s.ToString() + ")");
  }
  if (!s.ok()) {
    // A second process on the same data dir fails here with a lock error.
    return Fail(Reason::kUnavailable,
                "(cannot open the database in " + dir + ": " + s.ToString() + ")");
  }
  return std::unique_ptr<Database>(
      new RocksDatabase(raw, std::move(handles), options.sync_writes, std::move(env)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& dir,
                                                         const DatabaseOptions& options) {
  return OpenWith(dir, options, nullptr);
}

absl::StatusOr<std::unique_ptr<Database>> OpenDatabaseForTest(
    const std::string& dir, const DatabaseOptions& options,
    std::shared_ptr<rocksdb::FileSystem> fs) {
  return OpenWith(dir, options, rocksdb::NewCompositeEnv(fs));
}

}  // namespace iss::store
