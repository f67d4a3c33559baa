// Durable ordered key-value namespaces inside the server's one RocksDB database.
//
//   ASSIGN_OR_RETURN(auto db, store::Database::Open(data_dir + "/db", options));
//   ASSIGN_OR_RETURN(store::Kv * auth, db->Namespace("auth"));  // a RocksDB column family
//   RETURN_IF_ERROR(auth->Put("user/alice", bytes));              // synced: on disk when OK
//   ASSIGN_OR_RETURN(std::optional<std::string> v, auth->Get("user/alice"));
//
// store/ owns RocksDB; other modules use these namespaces (or the adapters built on them:
// rocks_catalog.h, rocks_job_store.h) and never see rocksdb:: types. Every write is synced
// (WAL fsync) before it returns OK, so an acknowledged write survives kill -9 and power loss
// (tests/store/durability_test.cc drops every unsynced byte to prove it).
//
// Failures carry an iss::Reason (common/status.h): kStorage (an I/O or RocksDB failure),
// kNoSpace (the disk is full: writes fail, reads keep working, and writes resume by
// themselves once space is back), kCorrupt (stored data failed its checks), kUnavailable
// (the database cannot be opened, e.g. another process holds it). The message is the detail.
//
// Thread contract: all methods are thread-safe.
#ifndef ISS_STORE_KV_H_
#define ISS_STORE_KV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace iss::store {

class Kv {
 public:
  virtual ~Kv() = default;
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const = 0;
  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  virtual absl::Status Delete(std::string_view key) = 0;
  // Applies all puts (value set) and deletes (nullopt) atomically, synced: all or none.
  virtual absl::Status Write(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) = 0;
  // Deletes every key in [begin, end), synced; space is reclaimed by a later compaction.
  virtual absl::Status DeleteRange(std::string_view begin, std::string_view end) = 0;
  // Asks the database to compact [begin, end) now, freeing the space of deleted keys. Best
  // effort: blocks until done; failures only mean the space is freed later.
  virtual void CompactRange(std::string_view begin, std::string_view end) = 0;
  // Calls fn(key, value) for each key starting with prefix, in key order, until fn returns
  // false.
  virtual absl::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const = 0;
};

// What Open does with a write-ahead log (WAL) record that fails its checks.
enum class WalRecovery {
  // Refuse to open (kCorrupt) on any damaged WAL record, so an acknowledged write is never
  // silently dropped (RocksDB's kAbsoluteConsistency). This includes a torn last record,
  // which a power loss or a full disk in the middle of an unacknowledged write can leave.
  kStrict,
  // Accept a torn last record of a WAL (the write it held was never acknowledged), still
  // refuse a record whose checksum fails (RocksDB's kTolerateCorruptedTailRecords). Blind
  // spot: a damaged length field in the last 32 KiB block of a WAL reads as a torn tail,
  // and the records after it in that block are dropped. For one start after such an event.
  kTolerateTornTail,
};

struct DatabaseOptions {
  // Default: true. Only benchmarks may turn it off: unsynced writes are lost on power loss.
  bool sync_writes = true;
  // Default: kStrict (see WalRecovery).
  WalRecovery wal_recovery = WalRecovery::kStrict;
  // After a write failed for lack of disk space, the next write first tries to resume the
  // database (DB::Resume: flush the memtables, clear the error), at most once per this many
  // milliseconds; writes fail with kNoSpace until one succeeds. Default: 1000.
  int64_t no_space_retry_ms = 1000;
};

class Database {
 public:
  // Opens (creating if missing, with its parent directories) the database in `dir`.
  // kUnavailable when it cannot be opened (held by another process, unreadable ...),
  // kCorrupt when its files fail their checks, kNoSpace when the disk is full.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& dir,
                                                        const DatabaseOptions& options);
  virtual ~Database() = default;
  // The namespace `name` (created on first use). The pointer lives as long as the Database.
  virtual absl::StatusOr<Kv*> Namespace(const std::string& name) = 0;
  // A consistent copy of the whole database, every namespace at one point in time, in the
  // new directory `dir` (RocksDB's Checkpoint: SST files hard-linked when `dir` is on the
  // same file system, copied otherwise; the memtables flushed first, so the copy needs no
  // WAL replay), synced. Writes go on meanwhile. kInvalidArgument when `dir` exists.
  // The copy opens with Open(dir) like the original.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;
};

}  // namespace iss::store

#endif  // ISS_STORE_KV_H_
