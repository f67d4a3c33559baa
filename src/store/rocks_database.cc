// store::Database on RocksDB: one database per server, one column family per namespace.
//
// Every write uses WriteOptions::sync (WAL fsync before OK) unless a benchmark turned
// DatabaseOptions::sync_writes off. RocksDB reports failures as rocksdb::Status (it does
// not throw); they become iss::Fail with a Reason (kStorage, kNoSpace, kCorrupt, or
// kUnavailable at Open) and the RocksDB message as detail. Column families are listed and
// reopened at Open(); a new namespace creates its column family on first use.
//
// A full disk: a WAL write that fails with ENOSPC makes RocksDB 7.8 stop every later write
// (a "hard" background error) until DB::Resume(). Its own recovery for that case polls the
// free space from a thread every 5 s and makes a manual Resume() answer Busy meanwhile
// (max_bgerror_resume_count does not apply: it is for retryable errors other than no
// space); we turn it off for every no-space error, hard or soft (NoSpaceListener), and
// instead let the next
// write resume the database (NoSpaceGate), at most once per
// DatabaseOptions::no_space_retry_ms. Reads keep working throughout; a failed write has
// changed nothing (its batch never reached the memtable). Three RocksDB 7.8 paths from a
// full disk to an abort (Debian builds librocksdb with assertions on) are closed here: the
// info LOG writer (ours instead: internal/info_log.h), a Resume with every memtable empty
// (the sentinel, see NoSpaceGate) and a Resume after a failed column family creation (file
// deletions disabled around it). RocksDB's default column family is the store's own: no
// namespace may use it.
//
// A damaged WAL: DatabaseOptions::wal_recovery (kv.h) picks RocksDB's kAbsoluteConsistency
// (default) or kTolerateCorruptedTailRecords, never the silent kPointInTimeRecovery; a
// refusal is kCorrupt with what to do. paranoid_checks stays on.
//
// Thread contract: Database and every Kv are thread-safe (RocksDB's own guarantees; the
// namespace map is guarded by a mutex; the gate is atomics).
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/internal/info_log.h"
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

// The key of the sentinel: a tombstone the gate keeps in the default column family's
// memtable (no namespace uses that family), written without the WAL. See NoSpaceGate.
constexpr char kSentinelKey[] = "iss/resume-sentinel";

// Remembers that the database stopped writes for lack of space, and lets the next write
// try DB::Resume() (throttled). Shared by the Database, its namespaces and the listener.
//
// RocksDB 7.8 trap: Resume() flushes only non-empty memtables, and only a memtable switch
// opens a new WAL. When a WAL write fails while every memtable is empty (just after open
// or after a resume, when everything was flushed), Resume() "succeeds" but keeps the WAL
// writer that failed, and the next write hits assert(sync_without_flush_called_) in
// WritableFileWriter: an abort with Debian's assert-enabled librocksdb, a permanent
// "Writer has previous error" without asserts. So the gate keeps a tombstone (written with
// disableWAL, so writing it cannot fail for space) in the default family's memtable, put
// back whenever that memtable is sealed; Resume() then always has a memtable to switch,
// which opens a new WAL. As a last guard it never resumes while the WAL a write failed on
// is still the current one and every memtable is empty: writes then keep failing with
// kNoSpace (no abort) until a restart. Costs of the sentinel: a write that skipped the WAL
// makes RocksDB flush the memtables at Close (a clean shutdown leaves no WAL to replay),
// and the default family, never empty, keeps old WAL files alive until their total
// passes max_total_wal_size (as any rarely written namespace, e.g. "auth", already does).
class NoSpaceGate {
 public:
  NoSpaceGate(int64_t retry_ms, std::shared_ptr<rocksdb::Logger> log)
      : retry_ns_(retry_ms * 1000000), log_(std::move(log)) {}

  void Attach(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* default_cf) {
    default_cf_ = default_cf;
    db_.store(db, std::memory_order_release);
    EnsureSentinel();
  }
  void Detach() { db_.store(nullptr, std::memory_order_release); }

  // From the listener (which runs under RocksDB's own locks: no DB calls here).
  void MarkStopped() { stopped_.store(true, std::memory_order_release); }
  void MarkSentinelNeeded() { sentinel_needed_.store(true, std::memory_order_release); }

  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  // Before each write: keep the sentinel in place; when writes stopped for lack of space,
  // one caller per interval asks RocksDB to resume (flush the memtables into a new WAL's
  // era, clear the error). Others go on and fail fast with the stored error.
  void BeforeWrite() {
    EnsureSentinel();
    if (!stopped()) return;
    rocksdb::DB* db = db_.load(std::memory_order_acquire);
    if (db == nullptr) return;
    const int64_t now = Clock::Real()->MonotonicNs();
    int64_t next = next_attempt_ns_.load(std::memory_order_relaxed);
    if (now < next) return;
    if (!next_attempt_ns_.compare_exchange_strong(next, now + retry_ns_)) return;
    const uint64_t failed_wal = failed_wal_.load();
    if (failed_wal != 0 && CurrentWal(db) == failed_wal && ActiveMemtablesEmpty(db)) {
      if (log_) {
        rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, log_,
                     "iss: not resuming after a no-space WAL failure with every "
                     "memtable empty (RocksDB 7.8 would reuse the failed WAL); "
                     "writes fail until the server restarts");
      }
      return;
    }
    // Second 7.8 trap: a MANIFEST write that failed outside the error handler (creating a
    // column family) leaves VersionSet's I/O error set with file deletions enabled, and the
    // next ResumeImpl asserts that deletions are disabled: an abort. Disabling them around
    // the call satisfies it; a successful ResumeImpl enables them again (force), and the
    // Enable below takes back our own count whatever happened.
    (void)db->DisableFileDeletions();
    const bool resumed = db->Resume().ok();
    (void)db->EnableFileDeletions(/*force=*/false);
    // A write failing after this sets the flag again; so does a Resume that fails.
    if (resumed) {
      failed_wal_.store(0);
      stopped_.store(false, std::memory_order_release);
      MarkSentinelNeeded();  // the resume flushed every memtable
      EnsureSentinel();
    }
  }

  // After each write. `was_stopped`: stopped() before the write began; if it was not, this
  // write's own WAL append or sync may be what failed, on the current WAL.
  void AfterWrite(const rocksdb::Status& s, bool was_stopped) {
    if (!IsNoSpace(s)) return;
    MarkStopped();
    rocksdb::DB* db = db_.load(std::memory_order_acquire);
    if (!was_stopped && db != nullptr) failed_wal_.store(CurrentWal(db));
  }

 private:
  static uint64_t CurrentWal(rocksdb::DB* db) {
    std::unique_ptr<rocksdb::LogFile> wal;
    return db->GetCurrentWalFile(&wal).ok() && wal ? wal->LogNumber() : 0;
  }
  static bool ActiveMemtablesEmpty(rocksdb::DB* db) {
    uint64_t entries = 0;
    return db->GetAggregatedIntProperty(rocksdb::DB::Properties::kNumEntriesActiveMemTable,
                                        &entries) &&
           entries == 0;
  }
  void EnsureSentinel() {
    if (!sentinel_needed_.load(std::memory_order_acquire)) return;
    rocksdb::DB* db = db_.load(std::memory_order_acquire);
    if (db == nullptr || !sentinel_needed_.exchange(false)) return;
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;  // memtable only: cannot fail for space, lost on a crash (harmless)
    if (!db->Delete(wo, default_cf_, kSentinelKey).ok()) MarkSentinelNeeded();
  }

  const int64_t retry_ns_;
  const std::shared_ptr<rocksdb::Logger> log_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;  // set before db_ is published
  std::atomic<rocksdb::DB*> db_{nullptr};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> sentinel_needed_{true};
  std::atomic<uint64_t> failed_wal_{0};  // the WAL a write failed on; 0: none
  std::atomic<int64_t> next_attempt_ns_{0};
};

// Takes RocksDB's own recovery from no-space errors out of the way (see the file comment):
// its 5 s polling thread would make our Resume() answer Busy. Tells the gate when writes
// stop and when the sentinel's memtable is sealed.
class NoSpaceListener : public rocksdb::EventListener {
 public:
  explicit NoSpaceListener(std::shared_ptr<NoSpaceGate> gate) : gate_(std::move(gate)) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* bg_error) override {
    if (bg_error != nullptr && Recoverable(*bg_error)) gate_->MarkStopped();
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    if (Recoverable(bg_error)) *auto_recovery = false;
  }

  void OnMemTableSealed(const rocksdb::MemTableInfo& info) override {
    if (info.cf_name == rocksdb::kDefaultColumnFamilyName) gate_->MarkSentinelNeeded();
  }

  const char* Name() const override { return "iss.NoSpaceListener"; }

 private:
  // A no-space error short of fatal. A hard one (WAL, flush, MANIFEST) stops writes until
  // a Resume; a soft one (a compaction's) stops only background work. Both are the gate's
  // to resume: left to RocksDB, a soft one starts its polling recovery, and while that runs
  // (up to 5 s) every manual Resume() answers Busy, so a WAL failure in the meantime kept
  // writes failing after space was back (seen in CI: a compaction that the last resume's
  // flush had scheduled ran into the full disk).
  static bool Recoverable(const rocksdb::Status& s) {
    return IsNoSpace(s) && s.severity() < rocksdb::Status::Severity::kFatalError;
  }

  std::shared_ptr<NoSpaceGate> gate_;
};

class RocksKv : public Kv {
 public:
  RocksKv(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, bool sync, NoSpaceGate* gate)
      : db_(db), cf_(cf), gate_(gate) {
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
    return Guarded("put", [&] { return db_->Put(wo_, cf_, S(key), S(value)); });
  }

  absl::Status Delete(std::string_view key) override {
    return Guarded("delete", [&] { return db_->Delete(wo_, cf_, S(key)); });
  }

  absl::Status Write(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      rocksdb::Status s = value ? batch.Put(cf_, key, *value) : batch.Delete(cf_, key);
      if (!s.ok()) return FromRocks(s, "batch");
    }
    return Guarded("write", [&] { return db_->Write(wo_, &batch); });
  }

  absl::Status DeleteRange(std::string_view begin, std::string_view end) override {
    if (!(S(begin).compare(S(end)) < 0)) return absl::OkStatus();  // empty range
    return Guarded("delete range", [&] { return db_->DeleteRange(wo_, cf_, S(begin), S(end)); });
  }

  void CompactRange(std::string_view begin, std::string_view end) override {
    rocksdb::Slice bs = S(begin), es = S(end);
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    gate_->BeforeWrite();
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
  // A write through the gate (see NoSpaceGate).
  template <typename F>
  absl::Status Guarded(const char* what, const F& write) {
    gate_->BeforeWrite();
    const bool was_stopped = gate_->stopped();
    rocksdb::Status s = write();
    gate_->AfterWrite(s, was_stopped);
    return FromRocks(s, what);
  }

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  NoSpaceGate* gate_;
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
                std::shared_ptr<NoSpaceGate> gate, std::unique_ptr<rocksdb::Env> env)
      : env_(std::move(env)), db_(db), sync_(sync), gate_(std::move(gate)) {
    for (rocksdb::ColumnFamilyHandle* h : handles) handles_[h->GetName()] = h;
    gate_->Attach(db_, handles_[rocksdb::kDefaultColumnFamilyName]);  // always opened
  }

  ~RocksDatabase() override {
    gate_->Detach();
    namespaces_.clear();
    for (auto& [name, h] : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    (void)db_->Close();
    delete db_;
  }

  absl::StatusOr<Kv*> Namespace(const std::string& name) override {
    if (name.empty()) return Fail(Reason::kInvalidArgument, "(empty namespace name)");
    if (name == rocksdb::kDefaultColumnFamilyName) {
      return Fail(Reason::kInvalidArgument, "(namespace name `default` is the store's own)");
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto& kv = namespaces_[name];
    if (kv) return kv.get();
    rocksdb::ColumnFamilyHandle*& handle = handles_[name];
    if (handle == nullptr) {
      gate_->BeforeWrite();
      rocksdb::Status s = db_->CreateColumnFamily(FamilyOptions(), name, &handle);
      if (!s.ok()) {
        gate_->AfterWrite(s, /*was_stopped=*/true);  // a MANIFEST write, not the WAL
        handles_.erase(name);
        namespaces_.erase(name);
        return FromRocks(s, "create namespace");
      }
    }
    kv = std::make_unique<RocksKv>(db_, handle, sync_, gate_.get());
    return kv.get();
  }

  absl::Status Checkpoint(const std::string& dir) override {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return Fail(Reason::kInvalidArgument, "(" + dir + " exists)");
    }
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: always flush first, so the copy holds no WAL to replay.
    if (s.ok()) s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
    if (!s.ok()) return FromRocks(s, "checkpoint");
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<rocksdb::Env> env_;  // null: Env::Default(); outlives db_
  rocksdb::DB* db_;                    // owned; deleted after its column family handles
  bool sync_;
  std::shared_ptr<NoSpaceGate> gate_;  // shared with the listener RocksDB holds
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
  // A damaged WAL record must never open the database with fewer acknowledged writes than
  // were made (RocksDB's default, kPointInTimeRecovery, replays up to the damage and drops
  // the rest, silently): see WalRecovery.
  db_opts.wal_recovery_mode = options.wal_recovery == WalRecovery::kStrict
                                  ? rocksdb::WALRecoveryMode::kAbsoluteConsistency
                                  : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // Stop writing at the first I/O error rather than carry on past it (RocksDB's default;
  // the no-space handling above relies on it).
  db_opts.paranoid_checks = true;
  // Our LOG writer: RocksDB's aborts the process after an ENOSPC (internal/info_log.h).
  db_opts.info_log = internal::OpenInfoLog(dir, db_opts.keep_log_file_num - 1);
  auto gate = std::make_shared<NoSpaceGate>(options.no_space_retry_ms, db_opts.info_log);
  db_opts.listeners.push_back(std::make_shared<NoSpaceListener>(gate));

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
    if (options.wal_recovery == WalRecovery::kStrict) {
      detail.pop_back();
      detail +=
          "; nothing was changed. If the machine lost power or the disk filled up during a "
          "write, the damage may be a torn last write-ahead-log record: opening once with "
          "wal_recovery = kTolerateTornTail (the server's --wal-recovery "
          "tolerate-torn-tail) accepts it)";
    }
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
  return std::unique_ptr<Database>(new RocksDatabase(raw, std::move(handles), options.sync_writes,
                                                     std::move(gate), std::move(env)));
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
