#include "store/rocks_job_store.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"

namespace iss::store {
namespace {

constexpr std::string_view kJobPrefix = "job/";

absl::Status CheckId(std::string_view id) {
  if (id.empty() || id.find('/') != std::string_view::npos) {
    return Fail(Reason::kInvalidArgument, "(job id `" + std::string(id) + "`)");
  }
  return absl::OkStatus();
}

std::string JobKey(std::string_view id) { return std::string(kJobPrefix) + std::string(id); }

std::string CheckpointPrefix(std::string_view id) { return "ckpt/" + std::string(id) + "/"; }

absl::StatusOr<std::string> EncodeJob(const engine::JobRecord& job) {
  nlohmann::json j = {{"id", job.id},
                      {"project_id", job.project_id},
                      {"gallery", job.gallery},
                      {"kind", job.kind},
                      {"state", job.state},
                      {"spec", job.spec},
                      {"progress", job.progress},
                      {"created_ms", job.created_ms},
                      {"updated_ms", job.updated_ms}};
  try {
    return j.dump();
  } catch (const nlohmann::json::type_error&) {  // invalid UTF-8 in a string
    return Fail(Reason::kInvalidArgument, "(job `" + job.id + "`: a field is not valid UTF-8)");
  }
}

absl::StatusOr<engine::JobRecord> DecodeJob(std::string_view key, std::string_view bytes) {
  auto corrupt = [&](std::string_view why) {
    return Fail(Reason::kCorrupt,
                "(corrupt job record: " + std::string(why) + ") at `" + std::string(key) + "`");
  };
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  engine::JobRecord job;
  for (auto [field, out] : {std::pair{"id", &job.id},
                            {"project_id", &job.project_id},
                            {"gallery", &job.gallery},
                            {"kind", &job.kind},
                            {"state", &job.state},
                            {"spec", &job.spec},
                            {"progress", &job.progress}}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string()) return corrupt(field);
    *out = it->get<std::string>();
  }
  for (auto [field, out] :
       {std::pair{"created_ms", &job.created_ms}, {"updated_ms", &job.updated_ms}}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_number_integer()) return corrupt(field);
    *out = it->get<int64_t>();
  }
  if (key.substr(kJobPrefix.size()) != job.id) return corrupt("id differs from its key");
  return job;
}

}  // namespace

RocksJobStore::RocksJobStore(Kv* kv) : kv_(kv) {}

absl::Status RocksJobStore::Put(const engine::JobRecord& job) {
  RETURN_IF_ERROR(CheckId(job.id));
  ASSIGN_OR_RETURN(std::string bytes, EncodeJob(job));
  iss::ReaderMutexLock lock(&mu_);
  return kv_->Put(JobKey(job.id), bytes);
}

absl::StatusOr<std::optional<engine::JobRecord>> RocksJobStore::Get(std::string_view id) {
  RETURN_IF_ERROR(CheckId(id));
  const std::string key = JobKey(id);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(key));
  if (!bytes) return std::optional<engine::JobRecord>();
  ASSIGN_OR_RETURN(engine::JobRecord job, DecodeJob(key, *bytes));
  return std::optional<engine::JobRecord>(std::move(job));
}

absl::StatusOr<std::vector<engine::JobRecord>> RocksJobStore::List(std::string_view project_id) {
  std::vector<engine::JobRecord> out;
  absl::Status err;
  RETURN_IF_ERROR(kv_->Scan(kJobPrefix, [&](std::string_view key, std::string_view value) {
    absl::StatusOr<engine::JobRecord> job = DecodeJob(key, value);
    if (!job.ok()) {
      err = job.status();
      return false;
    }
    if (project_id.empty() || job->project_id == project_id) out.push_back(*std::move(job));
    return true;
  }));
  RETURN_IF_ERROR(err);
  return out;
}

absl::Status RocksJobStore::Delete(std::string_view id) {
  RETURN_IF_ERROR(CheckId(id));
  iss::MutexLock lock(&mu_);  // no checkpoint of this job can be written meanwhile
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  ops.emplace_back(JobKey(id), std::nullopt);
  RETURN_IF_ERROR(kv_->Scan(CheckpointPrefix(id), [&](std::string_view key, std::string_view) {
    ops.emplace_back(std::string(key), std::nullopt);
    return true;
  }));
  return kv_->Write(ops);
}

absl::Status RocksJobStore::PutCheckpoint(std::string_view id, std::string_view name,
                                          std::string_view value) {
  RETURN_IF_ERROR(CheckId(id));
  if (name.empty()) return Fail(Reason::kInvalidArgument, "(empty checkpoint name)");
  iss::ReaderMutexLock lock(&mu_);
  return kv_->Put(CheckpointPrefix(id) + std::string(name), value);
}

absl::Status RocksJobStore::PutCheckpoints(
    std::string_view id, const std::vector<std::pair<std::string, std::string>>& values) {
  RETURN_IF_ERROR(CheckId(id));
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  ops.reserve(values.size());
  const std::string base = CheckpointPrefix(id);
  for (const auto& [name, value] : values) {
    if (name.empty()) return Fail(Reason::kInvalidArgument, "(empty checkpoint name)");
    ops.emplace_back(base + name, value);
  }
  if (ops.empty()) return absl::OkStatus();
  iss::ReaderMutexLock lock(&mu_);
  return kv_->Write(ops);
}

absl::StatusOr<std::optional<std::string>> RocksJobStore::GetCheckpoint(std::string_view id,
                                                                        std::string_view name) {
  RETURN_IF_ERROR(CheckId(id));
  if (name.empty()) return Fail(Reason::kInvalidArgument, "(empty checkpoint name)");
  return kv_->Get(CheckpointPrefix(id) + std::string(name));
}

absl::Status RocksJobStore::ScanCheckpoints(
    std::string_view id, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) {
  RETURN_IF_ERROR(CheckId(id));
  const std::string base = CheckpointPrefix(id);
  return kv_->Scan(base + std::string(prefix), [&](std::string_view key, std::string_view value) {
    return fn(key.substr(base.size()), value);
  });
}

absl::StatusOr<std::unique_ptr<engine::JobStore>> OpenJobStore(Database* db) {
  ASSIGN_OR_RETURN(Kv * kv, db->Namespace(kJobsNamespace));
  return std::unique_ptr<engine::JobStore>(new RocksJobStore(kv));
}

}  // namespace iss::store
