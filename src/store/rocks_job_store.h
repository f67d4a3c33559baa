// store::RocksJobStore: the engine's JobStore port (engine/ports/job_store.h) over the
// "jobs" namespace of the RocksDB store.
//
//   job/<id>              -> the job record as JSON: id, project_id, gallery, kind, state,
//                            spec, progress (spec and progress as JSON strings, opaque),
//                            created_ms, updated_ms
//   ckpt/<id>/<name>      -> a checkpoint's value, as given
//
//   ASSIGN_OR_RETURN(std::unique_ptr<engine::JobStore> jobs, store::OpenJobStore(db));
//   RETURN_IF_ERROR(jobs->Put(record));                        // synced
//   RETURN_IF_ERROR(jobs->PutCheckpoint(record.id, "cursor", bytes));
//   RETURN_IF_ERROR(jobs->Delete(record.id));  // the record and its checkpoints, atomically
//
// A job id is non-empty and has no '/' (so one job's checkpoint keys are never a prefix
// of another's); a checkpoint name is non-empty; otherwise kInvalidArgument, as is a record
// whose strings are not valid UTF-8 (JSON cannot hold them). A stored record that fails to
// decode is kCorrupt; other failures are kv.h's reasons.
//
// Thread contract: thread-safe. Delete reads the job's checkpoint keys and removes them
// with the record in one batch; a mutex (shared by writers, exclusive for Delete) keeps a
// concurrent PutCheckpoint from slipping in between. The Kv (or Database) must outlive it.
#ifndef ISS_STORE_ROCKS_JOB_STORE_H_
#define ISS_STORE_ROCKS_JOB_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "engine/ports/job_store.h"
#include "store/kv.h"

namespace iss::store {

// The namespace (RocksDB column family) that holds the jobs.
inline constexpr char kJobsNamespace[] = "jobs";

class RocksJobStore : public engine::JobStore {
 public:
  // `kv` is the jobs namespace (kJobsNamespace), borrowed.
  explicit RocksJobStore(Kv* kv);

  absl::Status Put(const engine::JobRecord& job) override;
  absl::StatusOr<std::optional<engine::JobRecord>> Get(std::string_view id) override;
  absl::StatusOr<std::vector<engine::JobRecord>> List(std::string_view project_id) override;
  // The record and every checkpoint in one synced batch. A job that does not exist: OK.
  absl::Status Delete(std::string_view id) override;
  absl::Status PutCheckpoint(std::string_view id, std::string_view name,
                             std::string_view value) override;
  // One synced batch.
  absl::Status PutCheckpoints(
      std::string_view id, const std::vector<std::pair<std::string, std::string>>& values) override;
  absl::StatusOr<std::optional<std::string>> GetCheckpoint(std::string_view id,
                                                           std::string_view name) override;
  // In name order, until fn returns false.
  absl::Status ScanCheckpoints(
      std::string_view id, std::string_view prefix,
      const std::function<bool(std::string_view name, std::string_view value)>& fn) override;

 private:
  Kv* const kv_;
  iss::Mutex mu_;  // writers hold it shared, Delete exclusive
};

// The job store over `db`'s kJobsNamespace. `db` must outlive the result.
absl::StatusOr<std::unique_ptr<engine::JobStore>> OpenJobStore(Database* db);

}  // namespace iss::store

#endif  // ISS_STORE_ROCKS_JOB_STORE_H_
