// The Embedder for an ONNX model run by OpenCV DNN, configured by a ModelConfig.
//
//   ASSIGN_OR_RETURN(auto e, OnnxEmbedder::Create(config, /*instances=*/2));
//   ASSIGN_OR_RETURN(Embedding emb, e->Embed(jpeg_bytes, {}));
//
// Pipeline: DecodeImage (scaled JPEG decode) -> crop `box` -> resize to the input size
// -> channel order, scale, mean/std -> forward -> pool the feature map (avg, max, GeM or
// R-MAC regions) -> signed square root -> L2 -> the model's whitening when it has one
// (features/whitening.h: inner products become calibrated similarities). Query variants
// rotate the cropped image. A model with `verification` also extracts the image's local
// features (features/local_features.h; a query's with its mirror image) for Verify.
// Thread contract: Embed() is thread-safe; concurrent calls share a pool of `instances`
// networks (cv::dnn::Net is not thread-safe) and wait for a free one.
#ifndef ISS_FEATURES_ONNX_EMBEDDER_H_
#define ISS_FEATURES_ONNX_EMBEDDER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <optional>
#include <vector>

#include "engine/ports/models.h"
#include "features/model_config.h"
#include "features/whitening.h"

namespace iss::features {

using engine::Embedding;
using engine::EmbedOptions;
using engine::Purpose;
using model::Box;

class OnnxEmbedder : public engine::Embedder {
 public:
  // `downscale_large`: accept images over 2048 px a side and shrink them (DecodeOptions).
  static absl::StatusOr<std::unique_ptr<OnnxEmbedder>> Create(const ModelConfig& config,
                                                              int instances,
                                                              bool downscale_large = false);
  ~OnnxEmbedder() override;

  const std::string& name() const override { return config_.name; }
  int dim() const override { return dim_; }
  const ModelConfig& config() const { return config_; }
  // 1 - (1 - max(c, 0))^similarity_power (features/model_config.h).
  float Similarity(float inner_product) const override;
  // "<name>@pca-<first 12 hex digits of the whitening file's SHA-256>" with a whitening.
  std::string vector_model() const override { return vector_model_; }
  // A model with a whitening upgrades the vectors of the same network without one (what
  // `<name>` recorded before the whitening existed): Calibrate() is exactly that step.
  bool Upgrades(std::string_view from) const override;
  std::vector<float> Upgrade(const std::vector<float>& old) const override;
  absl::StatusOr<Embedding> Embed(std::string_view image_bytes,
                                  const EmbedOptions& options) const override;
  // With `verification` (ModelConfig): verify_candidates, and the re-score it describes;
  // Similarity() then serves 0.85 x the calibrated sim (what an unverified hit keeps).
  int verify_candidates() const override;
  float Verify(float sim, std::string_view query_features,
               std::string_view stored_features) const override;

  // The steps of Embed(), exposed for benchmarks and tests.
  absl::StatusOr<cv::Mat> Decode(std::string_view image_bytes, const std::optional<Box>& box) const;
  cv::Mat Preprocess(const cv::Mat& bgr) const;                // -> NCHW float blob
  absl::StatusOr<cv::Mat> Forward(const cv::Mat& blob) const;  // -> raw model output
  std::vector<float> Pool(const cv::Mat& output) const;        // -> final vector
  // The vector before the whitening (what a model without it stores) -> the final one.
  // Identity when the model has no whitening.
  void Calibrate(std::vector<float>& raw) const;
  // The size of a vector before the whitening.
  int raw_dim() const { return raw_dim_; }

 private:
  explicit OnnxEmbedder(ModelConfig config);
  absl::StatusOr<std::vector<float>> EmbedPixels(const cv::Mat& bgr) const;

  ModelConfig config_;
  bool downscale_large_ = false;
  int dim_ = 0;
  int raw_dim_ = 0;
  std::string vector_model_;
  std::optional<Whitening> whitening_;
  mutable std::mutex mu_;
  mutable std::condition_variable free_cv_;
  std::vector<std::unique_ptr<cv::dnn::Net>> nets_;
  mutable std::vector<cv::dnn::Net*> free_;  // guarded by mu_
};

}  // namespace iss::features

#endif  // ISS_FEATURES_ONNX_EMBEDDER_H_
