// Internal to engine/jobs: how a job's parts are stored in the JobStore, in a small text
// form of our own (the engine knows no JSON): the spec and the progress as "name=value"
// lines, one mark per key ("k/<key>": pass, outcome, ETag, size), one failure per failed
// key ("f/<key>"), the manifest in chunks ("m/<000000>": one entry a line). Values are
// percent-escaped where they would break the form ('%', '\n', '\t', '=', ';').
// Thread contract: pure functions.
#ifndef ISS_ENGINE_JOBS_JOB_CODEC_H_
#define ISS_ENGINE_JOBS_JOB_CODEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/jobs/job_runner.h"

namespace iss::engine::jobs_internal {

std::string Escape(std::string_view s);
std::string Unescape(std::string_view s);

// "name=value\n" lines; decoding ignores lines without '='.
std::string EncodeFields(const std::vector<std::pair<std::string, std::string>>& fields);
std::map<std::string, std::string> DecodeFields(std::string_view text);

// The spec without the manifest's entries (stored apart), with their count.
std::string EncodeSpec(const JobSpec& spec, int64_t manifest_entries);
absl::StatusOr<JobSpec> DecodeSpec(std::string_view text, int64_t* manifest_entries);
std::string EncodeProgress(const JobProgress& p);
JobProgress DecodeProgress(std::string_view text);

// What a pass did with a key.
enum class Outcome : char { kDone = 'd', kSkipped = 's', kFailed = 'f', kRemoved = 'r' };
struct KeyMark {
  int64_t pass = 0;
  Outcome outcome = Outcome::kDone;
  std::string etag;
  int64_t size = -1;
};
std::string EncodeMark(const KeyMark& m);
std::optional<KeyMark> DecodeMark(std::string_view text);

struct FailureMark {
  int64_t pass = 0;
  Reason reason = Reason::kInternal;
  std::string locator;
  std::string message;
};
std::string EncodeFailure(const FailureMark& f);
std::optional<FailureMark> DecodeFailure(std::string_view text);

// Manifest entries per chunk checkpoint.
inline constexpr size_t kManifestChunk = 1000;
std::string ManifestChunkName(size_t chunk);  // "m/000042"
std::string EncodeManifest(const ManifestEntry* entries, size_t n);
absl::StatusOr<std::vector<ManifestEntry>> DecodeManifest(std::string_view text);

}  // namespace iss::engine::jobs_internal

#endif  // ISS_ENGINE_JOBS_JOB_CODEC_H_
