// Durable records of instances and images in the store's "catalog" namespace.
//
// Keys:  inst/<project_id>/<name>      -> instance JSON (with its uid)
//        seq/instance                  -> next instance uid
//        img/<uid:016x>/<path>         -> binary image record (id, times,
//        model, tags, vector)
// One instance's images are contiguous, so deleting an instance is one range
// delete. Thread contract: stateless functions over a thread-safe store::Kv.
#ifndef ISS_CORE_CATALOG_H_
#define ISS_CORE_CATALOG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/service.h"
#include "store/kv.h"

namespace iss::core {

struct InstanceRecord {
  Instance instance;
  uint64_t uid = 0;
};

struct ImageRecord {
  std::string path;
  uint64_t id = 0;  // internal id, unique within the instance, never reused
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string model;
  Tags tags;
  std::vector<float> vector;
};

std::string InstanceKey(const std::string& project_id, const std::string& name);
std::string ImagePrefix(uint64_t uid);
std::string ImageKey(uint64_t uid, const std::string& path);

std::string EncodeInstance(const InstanceRecord& r);
absl::StatusOr<InstanceRecord> DecodeInstance(std::string_view bytes);
std::string EncodeImage(const ImageRecord& r);
absl::StatusOr<ImageRecord> DecodeImage(std::string_view path,
                                        std::string_view bytes);

}  // namespace iss::core

#endif  // ISS_CORE_CATALOG_H_
