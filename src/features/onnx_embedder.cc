#include "features/onnx_embedder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "common/status.h"
#include "common/status_macros.h"
#include "features/image_decoder.h"
#include "features/local_features.h"

namespace iss::features {
namespace {

// Smallest region a crop box may leave; below it a box says nothing about the image.
constexpr int kMinBoxSide = 8;

void Normalize(std::vector<float>& v, bool signed_sqrt, bool l2) {
  if (signed_sqrt) {
    for (float& x : v) x = std::copysign(std::sqrt(std::fabs(x)), x);
  }
  if (l2) {
    double n = 0;
    for (float x : v) n += double(x) * x;
    n = std::sqrt(n);
    if (n > 1e-12) {
      for (float& x : v) x = float(x / n);
    }
  }
}

enum class PoolOp { kAvg, kMax, kGem };

PoolOp ParsePoolOp(const std::string& how) {
  return how == "max" ? PoolOp::kMax : how == "gem" ? PoolOp::kGem : PoolOp::kAvg;
}

// Pools every channel over the rectangle [y0,y1) x [x0,x1) of a CHW float map.
void PoolRegion(const float* map, int channels, int h, int w, int y0, int y1, int x0, int x1,
                PoolOp op, std::vector<float>& out) {
  const int area = (y1 - y0) * (x1 - x0);
  for (int c = 0; c < channels; ++c) {
    const float* m = map + size_t(c) * h * w;
    float acc = op == PoolOp::kMax ? -1e30f : 0.f;
    for (int y = y0; y < y1; ++y) {
      const float* row = m + y * w;
      if (op == PoolOp::kMax) {
        for (int x = x0; x < x1; ++x) acc = std::max(acc, row[x]);
      } else if (op == PoolOp::kGem) {
        for (int x = x0; x < x1; ++x) {
          float v = std::max(row[x], 0.f);
          acc += v * v * v;
        }
      } else {
        for (int x = x0; x < x1; ++x) acc += row[x];
      }
    }
    if (op == PoolOp::kAvg) acc /= float(area);
    if (op == PoolOp::kGem) acc = std::cbrt(acc / float(area));
    out[c] = acc;
  }
}

}  // namespace

OnnxEmbedder::OnnxEmbedder(ModelConfig config) : config_(std::move(config)) {}
OnnxEmbedder::~OnnxEmbedder() = default;

absl::StatusOr<std::unique_ptr<OnnxEmbedder>> OnnxEmbedder::Create(const ModelConfig& config,
                                                                   int instances,
                                                                   bool downscale_large) {
  if (!std::filesystem::exists(config.onnx_path)) {
    return Fail(Reason::kModelUnavailable, "(" + config.onnx_path + ")");
  }
  std::unique_ptr<OnnxEmbedder> e(new OnnxEmbedder(config));
  e->downscale_large_ = downscale_large;
  try {
    for (int i = 0; i < std::max(1, instances); ++i) {
      auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(config.onnx_path));
      net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      e->free_.push_back(net.get());
      e->nets_.push_back(std::move(net));
    }
  } catch (const cv::Exception& ex) {
    return Fail(Reason::kModelUnavailable, "(" + config.onnx_path + ": " + ex.what() + ")");
  }
  // One forward pass on a grey image: validates the model and tells its dimension.
  cv::Mat grey(config.input_height, config.input_width, CV_8UC3, cv::Scalar(128, 128, 128));
  ASSIGN_OR_RETURN(cv::Mat out, e->Forward(e->Preprocess(grey)));
  e->raw_dim_ = int(e->Pool(out).size());
  if (e->raw_dim_ <= 0) return Fail(Reason::kModelUnavailable, "(model output is empty)");
  e->dim_ = e->raw_dim_;
  e->vector_model_ = config.name;
  if (!config.whitening_path.empty()) {
    ASSIGN_OR_RETURN(Whitening w, Whitening::Load(config.whitening_path, e->raw_dim_,
                                                  config.whitening_sha256, config.whitening_power));
    if (w.out_dim() != config.whitening_dims) {
      return Fail(Reason::kModelUnavailable,
                  "(" + config.whitening_path + ": " + std::to_string(w.out_dim()) +
                      " output dimensions, the model's `whitening_dims` says " +
                      std::to_string(config.whitening_dims) + ")");
    }
    e->whitening_ = std::move(w);
    e->dim_ = e->whitening_->out_dim();
    e->vector_model_ = config.name + "@pca-" + config.whitening_sha256.substr(0, 12);
  }
  return e;
}

absl::StatusOr<cv::Mat> OnnxEmbedder::Decode(std::string_view image_bytes,
                                             const std::optional<Box>& box) const {
  DecodeOptions opt;
  opt.downscale_large = downscale_large_;
  // A crop needs full resolution; a whole image only needs about the input size.
  opt.min_decoded_side = box ? 0 : std::max(config_.input_width, config_.input_height);
  double scale = 1.0;
  ASSIGN_OR_RETURN(cv::Mat img, DecodeImage(image_bytes, opt, &scale));
  if (!box) return img;
  // The box is in the file's (upright) pixels; a shrunk image scales it alike.
  cv::Rect r(int(box->x * scale), int(box->y * scale), int(box->width * scale + 0.5),
             int(box->height * scale + 0.5));
  r &= cv::Rect(0, 0, img.cols, img.rows);
  if (r.width < kMinBoxSide || r.height < kMinBoxSide) {
    return Fail(Reason::kBadCrop, "(box lies outside the image or is smaller than 8x8 px)");
  }
  return img(r).clone();
}

cv::Mat OnnxEmbedder::Preprocess(const cv::Mat& bgr) const {
  cv::Mat src = bgr;
  if (config_.resize == "center_crop") {
    double aspect = double(config_.input_width) / config_.input_height;
    int w = bgr.cols, h = bgr.rows;
    if (double(w) / h > aspect)
      w = int(h * aspect);
    else
      h = int(w / aspect);
    src = bgr(cv::Rect((bgr.cols - w) / 2, (bgr.rows - h) / 2, w, h));
  }
  cv::Mat resized;
  const bool shrink = src.cols >= config_.input_width && src.rows >= config_.input_height;
  cv::resize(src, resized, cv::Size(config_.input_width, config_.input_height), 0, 0,
             shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  const auto& m = config_.mean;
  const auto& s = config_.std;
  // blobFromImage: (pixel - mean) * scale, in the network's channel order.
  cv::Mat blob = cv::dnn::blobFromImage(resized, config_.scale, cv::Size(),
                                        cv::Scalar(m[0], m[1], m[2]) / config_.scale,
                                        /*swapRB=*/config_.rgb, /*crop=*/false, CV_32F);
  if (s[0] != 1 || s[1] != 1 || s[2] != 1) {
    const int plane = config_.input_width * config_.input_height;
    float* p = blob.ptr<float>();
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < plane; ++i) p[c * plane + i] /= float(s[c]);
    }
  }
  return blob;
}

absl::StatusOr<cv::Mat> OnnxEmbedder::Forward(const cv::Mat& blob) const {
  cv::dnn::Net* net;
  {
    std::unique_lock<std::mutex> lock(mu_);
    free_cv_.wait(lock, [&] { return !free_.empty(); });
    net = free_.back();
    free_.pop_back();
  }
  cv::Mat out;
  absl::Status status;
  try {
    net->setInput(blob);
    out = config_.output.empty() ? net->forward() : net->forward(config_.output);
    out = out.clone();  // the net reuses its output buffer
  } catch (const cv::Exception& ex) {
    status = Fail(Reason::kInternal, std::string("(model forward: ") + ex.what() + ")");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(net);
  }
  free_cv_.notify_one();
  if (!status.ok()) return status;
  return out;
}

std::vector<float> OnnxEmbedder::Pool(const cv::Mat& output) const {
  const int channels = output.dims >= 2 ? output.size[1] : int(output.total());
  const int h = output.dims == 4 ? output.size[2] : 1;
  const int w = output.dims == 4 ? output.size[3] : 1;
  const float* map = output.ptr<float>();
  std::vector<float> v(channels, 0.f);
  if (config_.pooling != "rmac") {
    PoolRegion(map, channels, h, w, 0, h, 0, w, ParsePoolOp(config_.pooling), v);
  } else {
    // R-MAC: max-pooled square regions at 3 scales, each L2-normalised, summed.
    std::vector<float> region(channels);
    for (int level = 1; level <= 3; ++level) {
      int side = std::max(1, 2 * std::min(h, w) / (level + 1));
      int steps_y = level, steps_x = level;
      for (int iy = 0; iy < steps_y; ++iy) {
        for (int ix = 0; ix < steps_x; ++ix) {
          int y0 = steps_y == 1 ? (h - side) / 2 : iy * (h - side) / (steps_y - 1);
          int x0 = steps_x == 1 ? (w - side) / 2 : ix * (w - side) / (steps_x - 1);
          PoolRegion(map, channels, h, w, y0, y0 + side, x0, x0 + side, PoolOp::kMax, region);
          Normalize(region, false, true);
          for (int c = 0; c < channels; ++c) v[c] += region[c];
        }
      }
    }
  }
  Normalize(v, config_.signed_sqrt, config_.l2);
  Calibrate(v);
  return v;
}

void OnnxEmbedder::Calibrate(std::vector<float>& raw) const {
  if (whitening_) whitening_->Apply(raw);
}

namespace {
// What an unverified hit of a verifying model keeps of its calibrated sim: it stays below
// the "same image" threshold (0.86, docs/models.md) whatever its global similarity.
constexpr float kUnverifiedScale = 0.85f;
}  // namespace

float OnnxEmbedder::Similarity(float inner_product) const {
  const float unverified = config_.verification.empty() ? 1.0f : kUnverifiedScale;
  if (config_.similarity_power == 1.0 || !std::isfinite(inner_product)) {
    return inner_product * unverified;
  }
  const double gap = 1.0 - std::clamp(double(inner_product), 0.0, 1.0);
  return float(1.0 - std::pow(gap, config_.similarity_power)) * unverified;
}

int OnnxEmbedder::verify_candidates() const {
  return config_.verification.empty() ? 0 : config_.verify_candidates;
}

float OnnxEmbedder::Verify(float sim, std::string_view query_features,
                           std::string_view stored_features) const {
  if (config_.verification.empty()) return sim;
  const int inliers = CountInliers(query_features, stored_features);
  if (inliers < config_.verify_min_inliers) return sim;
  return std::max(sim, 1.0f - 0.1f * float(config_.verify_min_inliers) / float(inliers));
}

bool OnnxEmbedder::Upgrades(std::string_view from) const {
  return whitening_.has_value() && from == config_.name;
}

std::vector<float> OnnxEmbedder::Upgrade(const std::vector<float>& old) const {
  std::vector<float> v = old;
  if (int(v.size()) == raw_dim_) Calibrate(v);
  return v;
}

absl::StatusOr<std::vector<float>> OnnxEmbedder::EmbedPixels(const cv::Mat& bgr) const {
  ASSIGN_OR_RETURN(cv::Mat out, Forward(Preprocess(bgr)));
  return Pool(out);
}

absl::StatusOr<Embedding> OnnxEmbedder::Embed(std::string_view image_bytes,
                                              const EmbedOptions& options) const {
  ASSIGN_OR_RETURN(cv::Mat img, Decode(image_bytes, options.box));
  Embedding e;
  ASSIGN_OR_RETURN(e.vector, EmbedPixels(img));
  if (!config_.verification.empty()) {
    e.local_features =
        ExtractLocalFeatures(img, {.max_features = config_.verify_features,
                                   .side = config_.verify_side,
                                   .with_mirror = options.purpose == Purpose::kQuery});
  }
  if (options.purpose == Purpose::kQuery) {
    for (int deg : config_.query_rotations) {
      cv::Mat rotated;
      cv::rotate(img, rotated,
                 deg == 90    ? cv::ROTATE_90_CLOCKWISE
                 : deg == 180 ? cv::ROTATE_180
                              : cv::ROTATE_90_COUNTERCLOCKWISE);
      ASSIGN_OR_RETURN(std::vector<float> v, EmbedPixels(rotated));
      e.variants.push_back(std::move(v));
    }
  }
  return e;
}

}  // namespace iss::features
