// RocksDB's info LOG for store::Database, written so that a full disk cannot abort the
// process. Internal to store/ (it names rocksdb:: types); rocks_database.cc uses it.
//
//   db_options.info_log = internal::OpenInfoLog(dir, /*keep_old=*/4);
//
// Why: RocksDB 7.8's own LOG writer (EnvLogger over a WritableFileWriter) remembers a
// failed write and, on the next log line, hits assert(sync_without_flush_called_) in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError. Debian's librocksdb is built
// with assertions on, so the first log line after an ENOSPC on the LOG (RocksDB logs the
// very error it is handling) aborts the server. This logger writes each line with one
// write(2) and ignores failures: a line lost to a full disk is only a lost line.
//
// Like RocksDB's (keep_log_file_num), each open starts a fresh <dir>/LOG; the previous one
// becomes LOG.old.<microseconds> and only the newest `keep_old` of those are kept.
// Thread contract: the logger is thread-safe (one write(2) per line).
#ifndef ISS_STORE_INTERNAL_INFO_LOG_H_
#define ISS_STORE_INTERNAL_INFO_LOG_H_

#include <cstddef>
#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}  // namespace rocksdb

namespace iss::store::internal {

// A logger writing to <dir>/LOG; nullptr when the file cannot be created (RocksDB then
// opens its own, as before).
std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, size_t keep_old);

}  // namespace iss::store::internal

#endif  // ISS_STORE_INTERNAL_INFO_LOG_H_
