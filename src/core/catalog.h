// Durable records of instances and images in the store's "catalog" namespace.
//
// Keys:  inst/<project_id>/<name>      -> instance JSON (with its uid)
//        seq/instance                  -> next instance uid
//        img/<uid:016x>/<path>         -> binary image record (id, times,
//                                         model, tags, version)
//        vec/<uid:016x>/<id:016x>      -> version + the image's vector
// An image's two keys are written in one atomic batch with the same version
// (a per-instance write stamp the vector index compares against its snapshot).
// Vectors live apart so a start-up scan of the records reads no vectors.
// Format 2 records (vector inline, no version) are still read; the service
// rewrites them as format 3 at start-up. One instance's keys are contiguous
// per prefix, so deleting an instance is two range deletes.
// Thread contract: stateless functions over a thread-safe store::Kv.
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
  uint64_t version = 0;       // format 3; 0 in a format 2 record
  std::vector<float> vector;  // only in a format 2 record (inline vector)
};

std::string InstanceKey(const std::string& project_id, const std::string& name);
std::string ImagePrefix(uint64_t uid);
std::string ImageKey(uint64_t uid, const std::string& path);
std::string VectorPrefix(uint64_t uid);
std::string VectorKey(uint64_t uid, uint64_t id);
// The id of a VectorKey, or false when `key` is not one.
bool ParseVectorKey(std::string_view key, uint64_t* id);

std::string EncodeInstance(const InstanceRecord& r);
absl::StatusOr<InstanceRecord> DecodeInstance(std::string_view bytes);
std::string EncodeImage(const ImageRecord& r);
absl::StatusOr<ImageRecord> DecodeImage(std::string_view path, std::string_view bytes);
std::string EncodeVector(uint64_t version, const std::vector<float>& vector);
absl::Status DecodeVector(std::string_view bytes, uint64_t* version, std::vector<float>* vector);

}  // namespace iss::core

#endif  // ISS_CORE_CATALOG_H_
