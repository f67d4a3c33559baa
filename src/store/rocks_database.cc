// store::Database on RocksDB: one database, namespaces as key prefixes ("<name>/").
// Every write uses WriteOptions::sync so that an acknowledged write survives kill -9.
#include <map>
#include <memory>
#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "common/error.h"
#include "store/kv.h"

namespace iss::store {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  return Error("IS.0009", std::string("(storage ") + what + ": " + s.ToString() + ")");
}

rocksdb::Slice S(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

class RocksKv : public Kv {
 public:
  RocksKv(rocksdb::DB* db, std::string prefix, bool sync) : db_(db), prefix_(std::move(prefix)) {
    wo_.sync = sync;
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), S(Key(key)), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s, "get");
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    return FromRocks(db_->Put(wo_, S(Key(key)), S(value)), "put");
  }

  absl::Status Delete(std::string_view key) override {
    return FromRocks(db_->Delete(wo_, S(Key(key))), "delete");
  }

  absl::Status Write(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      std::string k = Key(key);
      rocksdb::Status s = value ? batch.Put(k, *value) : batch.Delete(k);
      if (!s.ok()) return FromRocks(s, "batch");
    }
    return FromRocks(db_->Write(wo_, &batch), "write");
  }

  absl::Status DeleteRange(std::string_view begin, std::string_view end) override {
    std::string b = Key(begin), e = Key(end);
    return FromRocks(db_->DeleteRange(wo_, db_->DefaultColumnFamily(), b, e), "delete range");
  }

  void CompactRange(std::string_view begin, std::string_view end) override {
    std::string b = Key(begin), e = Key(end);
    rocksdb::Slice bs(b), es(e);
    db_->CompactRange(rocksdb::CompactRangeOptions(), &bs, &es);
  }

  absl::Status Scan(std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn)
      const override {
    std::string p = Key(prefix);
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
      rocksdb::Slice k = it->key(), v = it->value();
      std::string_view key(k.data() + prefix_.size(), k.size() - prefix_.size());
      if (!fn(key, std::string_view(v.data(), v.size()))) break;
    }
    return FromRocks(it->status(), "scan");
  }

 private:
  std::string Key(std::string_view k) const {
    std::string out = prefix_;
    out.append(k);
    return out;
  }
  rocksdb::DB* db_;
  std::string prefix_;
  rocksdb::WriteOptions wo_;
};

class RocksDatabase : public Database {
 public:
  RocksDatabase(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)), sync_(sync) {}
  ~RocksDatabase() override {
    namespaces_.clear();
    if (db_) db_->Close();
  }

  absl::StatusOr<Kv*> Namespace(const std::string& name) override {
    if (name.empty() || name.find('/') != std::string::npos) {
      return Error("IS.0009", "(bad namespace name)");
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto& kv = namespaces_[name];
    if (!kv) kv = std::make_unique<RocksKv>(db_.get(), name + "/", sync_);
    return kv.get();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  bool sync_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<RocksKv>> namespaces_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& dir,
                                                         const DatabaseOptions& options) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.max_background_jobs = 2;
  opts.keep_log_file_num = 5;
  opts.compression = rocksdb::kLZ4Compression;
  opts.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, &raw);
  if (!s.ok()) {
    // A second process on the same data dir fails here with a lock error.
    return Error("IS.2105", "(cannot open the database in " + dir + ": " + s.ToString() + ")");
  }
  return std::unique_ptr<Database>(
      new RocksDatabase(std::unique_ptr<rocksdb::DB>(raw), options.sync_writes));
}

}  // namespace iss::store
