// Image bytes in, L2-normalised feature vector out: the contract core/ relies on.
//
//   ASSIGN_OR_RETURN(auto registry, features::ModelRegistry::Open(model_dir, opts));
//   const features::Embedder* e = registry->Find("common-search");
//   ASSIGN_OR_RETURN(std::vector<float> v, e->Embed(bytes, {.purpose = Purpose::kQuery}));
//
// Errors carry the API codes (common/error.h): IS.2001 unsupported format, IS.2002 damaged,
// IS.2106 too big (> 2048 px or a decompression bomb), IS.2107 too small (< 100 px).
// Thread contract: Embed() may be called concurrently from many threads.
#ifndef ISS_FEATURES_EMBEDDER_H_
#define ISS_FEATURES_EMBEDDER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::features {

// A crop rectangle in pixels of the decoded (EXIF-oriented) image.
struct Box {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

enum class Purpose {
  kStore,  // an image added to a gallery: one pass, fastest path
  kQuery,  // a search query: may spend more (e.g. rotated variants) for quality
};

struct EmbedOptions {
  Purpose purpose = Purpose::kStore;
  std::optional<Box> box;  // crop before embedding (after EXIF orientation)
};

// A query may produce several vectors (e.g. rotated variants); a stored image one.
struct Embedding {
  std::vector<float> vector;                 // primary vector, L2-normalised, size dim()
  std::vector<std::vector<float>> variants;  // extra query variants (may be empty)
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const std::string& name() const = 0;  // "common-search"
  virtual int dim() const = 0;                  // e.g. 576
  virtual absl::StatusOr<Embedding> Embed(std::string_view image_bytes,
                                          const EmbedOptions& options) const = 0;
};

struct RegistryOptions {
  int threads = 2;  // inference threads (OpenCV DNN / OpenMP), capped
};

// The models a server knows, loaded from a directory of <name>.toml + ONNX files.
class ModelRegistry {
 public:
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Open(const std::string& model_dir,
                                                             const RegistryOptions& options);
  virtual ~ModelRegistry() = default;
  // nullptr when no model of that name exists (core answers IS.3014).
  virtual const Embedder* Find(std::string_view name) const = 0;
  virtual std::vector<std::string> Names() const = 0;
};

}  // namespace iss::features

#endif  // ISS_FEATURES_EMBEDDER_H_
