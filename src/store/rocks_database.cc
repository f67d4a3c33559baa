// store::Database on RocksDB: one database per server, one column family per
// namespace.
//
// Every write uses WriteOptions::sync (WAL fsync before OK) unless a benchmark
// turned DatabaseOptions::sync_writes off, so an acknowledged write survives
// kill -9. RocksDB reports failures as rocksdb::Status (it does not throw);
// they become IS.0009 with the RocksDB message as detail. Column families are
// listed and reopened at Open(); a new namespace creates its column family on
// first use. Thread contract: Database and every Kv are thread-safe (RocksDB's
// own guarantees; the namespace map is guarded by a mutex).
#include <rocksdb/db.h>
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

#include "common/error.h"
#include "store/kv.h"

namespace iss::store {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  return Error("IS.0009", std::string("(storage ") + what + ": " + s.ToString() + ")");
}

rocksdb::Slice S(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// The smallest key greater than every key starting with `prefix`; empty when
// none exists (prefix is all 0xff bytes), meaning "no upper bound".
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
    return FromRocks(db_->Put(wo_, cf_, S(key), S(value)), "put");
  }

  absl::Status Delete(std::string_view key) override {
    return FromRocks(db_->Delete(wo_, cf_, S(key)), "delete");
  }

  absl::Status Write(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      rocksdb::Status s = value ? batch.Put(cf_, key, *value) : batch.Delete(cf_, key);
      if (!s.ok()) return FromRocks(s, "batch");
    }
    return FromRocks(db_->Write(wo_, &batch), "write");
  }

  absl::Status DeleteRange(std::string_view begin, std::string_view end) override {
    if (!(S(begin).compare(S(end)) < 0)) return absl::OkStatus();  // empty range
    return FromRocks(db_->DeleteRange(wo_, cf_, S(begin), S(end)), "delete range");
  }

  void CompactRange(std::string_view begin, std::string_view end) override {
    rocksdb::Slice bs = S(begin), es = S(end);
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    // Best effort by contract: a failed compaction only delays reclaiming
    // space.
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
  RocksDatabase(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles, bool sync)
      : db_(db), sync_(sync) {
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
    if (name.empty()) return Error("IS.0009", "(empty namespace name)");
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
  rocksdb::DB* db_;  // owned; deleted after its column family handles
  bool sync_;
  std::mutex mu_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> handles_;  // guarded by mu_
  std::map<std::string, std::unique_ptr<RocksKv>> namespaces_;   // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& dir,
                                                         const DatabaseOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // parents too; RocksDB makes only the leaf
  if (ec) {
    return Error("IS.2105",
                 "(cannot create the database directory " + dir + ": " + ec.message() + ")");
  }
  rocksdb::DBOptions db_opts;
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
  if (!s.ok()) {
    // A second process on the same data dir fails here with a lock error.
    return Error("IS.2105", "(cannot open the database in " + dir + ": " + s.ToString() + ")");
  }
  return std::unique_ptr<Database>(new RocksDatabase(raw, std::move(handles), options.sync_writes));
}

}  // namespace iss::store
