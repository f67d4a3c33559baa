// The models a server knows: every <name>.toml in a directory whose ONNX file exists becomes
// an engine::Embedder (features/onnx_embedder.h), found by name.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<engine::ModelRegistry> models,
//                    features::OpenModelRegistry(model_dir, {.threads = 1}));
//   const engine::Embedder* e = models->Find("common-search");
//
// Failures: Reason::kModelUnavailable (no usable model, unreadable directory or TOML).
// Thread contract: the registry is immutable once opened; Find/Names/Embed are thread-safe.
#ifndef ISS_FEATURES_MODEL_REGISTRY_H_
#define ISS_FEATURES_MODEL_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/ports/models.h"

namespace iss::features {

struct RegistryOptions {
  // Default: 1 thread inside one forward pass (OpenCV DNN, process-wide). Measured on 2
  // cores (bench/RESULTS.md): a lone search takes as long with 2, and an import job with 2
  // gets ~10% fewer images/s (TBB's idle workers spin on the cores downloads need).
  int threads = 1;
  // Default: 2 networks per model, so that 2 forward passes run at once.
  int instances = 2;
  // Default: false (IS.2106 above 2048 px, as the reference). True: shrink such images.
  bool downscale_large_images = false;
};

absl::StatusOr<std::unique_ptr<engine::ModelRegistry>> OpenModelRegistry(
    const std::string& model_dir, const RegistryOptions& options);

}  // namespace iss::features

#endif  // ISS_FEATURES_MODEL_REGISTRY_H_
