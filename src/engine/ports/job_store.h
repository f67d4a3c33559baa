// Port: durable records of long-running jobs (offline imports, bucket sync) and their
// checkpoints, so a job survives restarts and kill -9 and resumes where it stopped.
// The RocksDB adapter (store/rocks_job_store.h) implements it.
//
//   RETURN_IF_ERROR(jobs->Put(record));                    // durable when OK
//   RETURN_IF_ERROR(jobs->PutCheckpoint(id, "cursor", bytes));
//
// Thread contract: every method is thread-safe.
#ifndef ISS_ENGINE_PORTS_JOB_STORE_H_
#define ISS_ENGINE_PORTS_JOB_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace iss::engine {

struct JobRecord {
  std::string id;
  std::string project_id;
  std::string gallery;
  std::string kind;      // "import", "sync" ...
  std::string state;     // "queued", "running", "paused", "done", "failed", "cancelled"
  std::string spec;      // the job's parameters, opaque to the store (JSON)
  std::string progress;  // the job's counters, opaque to the store (JSON)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  virtual absl::Status Put(const JobRecord& job) = 0;
  virtual absl::StatusOr<std::optional<JobRecord>> Get(std::string_view id) = 0;
  // Every job, in id order; only those of `project_id` when it is not empty.
  virtual absl::StatusOr<std::vector<JobRecord>> List(std::string_view project_id) = 0;
  // Removes the job and its checkpoints.
  virtual absl::Status Delete(std::string_view id) = 0;
  // A named piece of a job's progress (a listing cursor, a done-set chunk ...).
  virtual absl::Status PutCheckpoint(std::string_view id, std::string_view name,
                                     std::string_view value) = 0;
  // Several checkpoints of one job in one durable write: all or none.
  virtual absl::Status PutCheckpoints(
      std::string_view id, const std::vector<std::pair<std::string, std::string>>& values) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetCheckpoint(std::string_view id,
                                                                   std::string_view name) = 0;
  // Calls fn(name, value) for each checkpoint of the job whose name starts with `prefix`.
  virtual absl::Status ScanCheckpoints(
      std::string_view id, std::string_view prefix,
      const std::function<bool(std::string_view name, std::string_view value)>& fn) = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_JOB_STORE_H_
