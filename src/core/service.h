// Instances (galleries) and their images: the eight operations without HTTP or JSON.
//
//   core::Service service(store, models, fetcher, options);
//   ASSIGN_OR_RETURN(core::Instance inst, service.CreateInstance(project, spec));
//   RETURN_IF_ERROR(service.AddImage(project, "shoes", add_request));
//   ASSIGN_OR_RETURN(core::SearchResult r, service.Search(project, "shoes", search_request));
//
// api/ validates the shape of requests (types, limits, names); core/ enforces the rules
// that need state (instance exists, tag keys known, instance full) and returns statuses
// carrying the exact API codes (common/error.h).
// Thread contract: every method may be called concurrently from many threads. Methods
// that embed images (AddImage, Search with an image) are CPU-heavy: call them from worker
// threads, never from I/O threads. A method that returns OK has made its change durable.
#ifndef ISS_CORE_SERVICE_H_
#define ISS_CORE_SERVICE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "features/embedder.h"
#include "index/tiered_index.h"

namespace iss::store {
class Database;
}
namespace iss::fetch {
class Fetcher;
}

namespace iss::core {

using Tags = std::map<std::string, std::string>;

struct InstanceSpec {
  std::string name;         // validated by api/: [a-z][a-z0-9_-]{0,15}
  std::string model;        // a model name known to features::ModelRegistry
  std::string description;  // <= 512 chars
  int64_t level = 30000000;
  std::vector<std::string> tags;  // tag keys allowed on images, <= 10
};

struct Instance {
  std::string project_id;
  std::string name;
  std::string model;
  std::string domain;  // model display name
  std::string description;
  int64_t level = 30000000;
  std::vector<std::string> tags;
  int64_t register_date_ms = 0;
  int64_t expired_date_ms = -1;
  std::string status = "NORMAL";
  int64_t image_count = 0;
};

struct AddImageRequest {
  std::string path;                 // the image's ID; a download URL when file is empty
  std::optional<std::string> file;  // raw image bytes (already Base64-decoded by api/)
  Tags tags;
};

struct SearchRequest {
  std::optional<std::string> file;   // raw image bytes; wins over path
  std::optional<std::string> path;   // stored image's path, or a URL to download
  Tags tags;                         // every given key must equal
  int limit = 10;                    // 1..100
  int offset = 0;                    // >= 0
  std::optional<features::Box> box;  // crop of the query image
};

struct SearchHit {
  std::string path;
  double sim = 0;  // cosine similarity clamped to [0, 1]
  Tags tags;
};

struct SearchResult {
  int64_t count = 0;  // number of hits returned in `hits` (see docs/api.md)
  std::vector<SearchHit> hits;
};

// Operator view of an instance's vector index (not part of the cloud's API).
struct IndexInfo {
  std::string tier;         // "exact" or "ivf-pq"
  int64_t vectors = 0;      // searchable
  int64_t ann_rows = 0;     // rows in the compressed tier
  int64_t buffer_rows = 0;  // rows searched exactly (side buffer)
  int64_t nlist = 0;
  int64_t ram_bytes = 0;        // heap held by the index
  int64_t disk_bytes = 0;       // vector file + snapshot
  bool restored = false;        // loaded from its snapshot at start-up
  int64_t preloaded_bytes = 0;  // vector file read into the page cache since start-up
};

// Totals over every instance of every project (operator metrics).
struct ServiceStats {
  int64_t instances = 0;
  int64_t images = 0;
  int64_t index_ram_bytes = 0;
  int64_t index_disk_bytes = 0;
};

class Service {
 public:
  virtual ~Service() = default;

  virtual absl::StatusOr<Instance> CreateInstance(const std::string& project_id,
                                                  const InstanceSpec& spec) = 0;
  virtual absl::StatusOr<Instance> GetInstance(const std::string& project_id,
                                               const std::string& name) = 0;
  virtual absl::Status DeleteInstance(const std::string& project_id, const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<Instance>> ListInstances(const std::string& project_id) = 0;

  virtual absl::Status AddImage(const std::string& project_id, const std::string& instance,
                                const AddImageRequest& request) = 0;
  virtual absl::StatusOr<bool> CheckImage(const std::string& project_id,
                                          const std::string& instance, const std::string& path) = 0;
  virtual absl::Status DeleteImage(const std::string& project_id, const std::string& instance,
                                   const std::string& path) = 0;
  virtual absl::Status ModifyImage(const std::string& project_id, const std::string& instance,
                                   const std::string& path, const Tags& tags) = 0;
  virtual absl::StatusOr<SearchResult> Search(const std::string& project_id,
                                              const std::string& instance,
                                              const SearchRequest& request) = 0;
  virtual absl::StatusOr<IndexInfo> GetIndexInfo(const std::string& project_id,
                                                 const std::string& instance) = 0;
  virtual ServiceStats Stats() = 0;
};

struct ServiceOptions {
  int64_t max_images_per_instance = 30000000;  // Default: the reference's level
  int max_instances_per_project = 100;         // Default: 100
  std::string index_dir;       // per-instance index snapshots; empty: none (rebuilt at start)
  index::TieredOptions index;  // tiering, search knobs (its `dir` is set per instance)
};

// The production Service over the server's database, models and downloader.
// Loads every instance's index from the store (or its snapshot) before returning.
// The pointers are borrowed and must outlive the Service.
absl::StatusOr<std::unique_ptr<Service>> OpenService(const ServiceOptions& options,
                                                     store::Database* db,
                                                     const features::ModelRegistry* models,
                                                     const fetch::Fetcher* fetcher);

}  // namespace iss::core

#endif  // ISS_CORE_SERVICE_H_
