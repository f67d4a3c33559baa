// features::OpenModelRegistry: every <name>.toml in the model directory whose ONNX file
// exists becomes an Embedder.
#include "features/model_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>

#include "common/status.h"
#include "features/onnx_embedder.h"

namespace iss::features {
namespace {

class Registry : public engine::ModelRegistry {
 public:
  const engine::Embedder* Find(std::string_view name) const override {
    auto it = models_.find(std::string(name));
    return it == models_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> names;
    for (const auto& [name, _] : models_) names.push_back(name);
    return names;
  }
  std::map<std::string, std::unique_ptr<OnnxEmbedder>> models_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<engine::ModelRegistry>> OpenModelRegistry(
    const std::string& model_dir, const RegistryOptions& options) {
  cv::setNumThreads(std::max(1, options.threads));
  auto registry = std::make_unique<Registry>();
  std::error_code ec;
  std::vector<std::filesystem::path> tomls;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    if (entry.path().extension() == ".toml") tomls.push_back(entry.path());
  }
  if (ec)
    return Fail(Reason::kModelUnavailable,
                "(model directory " + model_dir + ": " + ec.message() + ")");
  std::sort(tomls.begin(), tomls.end());
  for (const auto& path : tomls) {
    absl::StatusOr<ModelConfig> config = LoadModelConfig(path.string());
    if (!config.ok()) return config.status();
    if (!std::filesystem::exists(config->onnx_path)) {
      spdlog::warn("model {}: {} is missing, skipped (run scripts/fetch-model.sh)", config->name,
                   config->onnx_path);
      continue;
    }
    auto embedder = OnnxEmbedder::Create(*config, std::max(1, options.instances),
                                         options.downscale_large_images);
    if (!embedder.ok()) return embedder.status();
    spdlog::info("model {}: {}-d, {}", config->name, (*embedder)->dim(), config->onnx_path);
    registry->models_[config->name] = std::move(*embedder);
  }
  if (registry->models_.empty()) {
    return Fail(Reason::kModelUnavailable, "(no usable model in " + model_dir + ")");
  }
  return std::unique_ptr<engine::ModelRegistry>(std::move(registry));
}

}  // namespace iss::features
