// The Embedder for an ONNX model run by OpenCV DNN, configured by a ModelConfig.
//
//   ASSIGN_OR_RETURN(auto e, OnnxEmbedder::Create(config, /*instances=*/2));
//   ASSIGN_OR_RETURN(Embedding emb, e->Embed(jpeg_bytes, {}));
//
// Pipeline: DecodeImage (scaled JPEG decode) -> crop `box` -> resize to the input size
// -> channel order, scale, mean/std -> forward -> pool the feature map (avg, max, GeM or
// R-MAC regions) -> signed square root -> L2. Query variants rotate the cropped image.
// Thread contract: Embed() is thread-safe; concurrent calls share a pool of `instances`
// networks (cv::dnn::Net is not thread-safe) and wait for a free one.
#ifndef ISS_FEATURES_ONNX_EMBEDDER_H_
#define ISS_FEATURES_ONNX_EMBEDDER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <vector>

#include "engine/ports/models.h"
#include "features/model_config.h"

namespace iss::features {

using engine::Embedding;
using engine::EmbedOptions;
using engine::Purpose;
using model::Box;

class OnnxEmbedder : public engine::Embedder {
 public:
  static absl::StatusOr<std::unique_ptr<OnnxEmbedder>> Create(const ModelConfig& config,
                                                              int instances);
  ~OnnxEmbedder() override;

  const std::string& name() const override { return config_.name; }
  int dim() const override { return dim_; }
  const ModelConfig& config() const { return config_; }
  absl::StatusOr<Embedding> Embed(std::string_view image_bytes,
                                  const EmbedOptions& options) const override;

  // The steps of Embed(), exposed for benchmarks and tests.
  absl::StatusOr<cv::Mat> Decode(std::string_view image_bytes, const std::optional<Box>& box) const;
  cv::Mat Preprocess(const cv::Mat& bgr) const;                // -> NCHW float blob
  absl::StatusOr<cv::Mat> Forward(const cv::Mat& blob) const;  // -> raw model output
  std::vector<float> Pool(const cv::Mat& output) const;        // -> final vector

 private:
  explicit OnnxEmbedder(ModelConfig config);
  absl::StatusOr<std::vector<float>> EmbedPixels(const cv::Mat& bgr) const;

  ModelConfig config_;
  int dim_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable free_cv_;
  std::vector<std::unique_ptr<cv::dnn::Net>> nets_;
  mutable std::vector<cv::dnn::Net*> free_;  // guarded by mu_
};

}  // namespace iss::features

#endif  // ISS_FEATURES_ONNX_EMBEDDER_H_
