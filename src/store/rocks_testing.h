// TEST-ONLY: open a store::Database on a given rocksdb::FileSystem, so a test can put a
// fault-injecting file system (tests/testing/rocks/fault_injection_fs.h) under RocksDB:
// drop unsynced data as a power loss would, or fail writes with ENOSPC.
//
//   auto fs = std::make_shared<test::FaultInjectionFs>(rocksdb::FileSystem::Default());
//   ASSIGN_OR_RETURN(auto db, store::OpenDatabaseForTest(dir, {}, fs));
//
// Production code opens with Database::Open (kv.h), which exposes no rocksdb:: types; this
// header is the one place store/ names one, and only tests include it.
// Thread contract: as Database::Open; the file system must be thread-safe and is kept alive
// by the returned Database.
#ifndef ISS_STORE_ROCKS_TESTING_H_
#define ISS_STORE_ROCKS_TESTING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/kv.h"

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace iss::store {

// As Database::Open, with every file of the database read and written through `fs`.
absl::StatusOr<std::unique_ptr<Database>> OpenDatabaseForTest(
    const std::string& dir, const DatabaseOptions& options,
    std::shared_ptr<rocksdb::FileSystem> fs);

}  // namespace iss::store

#endif  // ISS_STORE_ROCKS_TESTING_H_
