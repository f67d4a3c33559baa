// How to run one embedding model: read from a small TOML file next to its ONNX file.
// See models/common-search.toml for every key and docs/models.md for bring-your-own.
#ifndef ISS_FEATURES_MODEL_CONFIG_H_
#define ISS_FEATURES_MODEL_CONFIG_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::features {

struct ModelConfig {
  std::string name;          // API model name, e.g. "common-search"
  std::string display_name;  // the API's `domain` field
  std::string onnx_path;     // absolute path of the ONNX file
  std::string output;        // output blob name; a [1, C, h, w] feature map or [1, C]
  int input_width = 224;
  int input_height = 224;
  bool rgb = true;                         // false: BGR
  double scale = 1.0 / 255;                // pixel * scale
  std::array<double, 3> mean = {0, 0, 0};  // per channel, in the network's order
  std::array<double, 3> std = {1, 1, 1};
  std::string resize = "stretch";  // stretch | center_crop
  std::string pooling = "avg";     // avg | max | gem | rmac
  bool signed_sqrt = true;
  bool l2 = true;
  std::vector<int> query_rotations;  // degrees clockwise: 90, 180, 270
  // Calibration (features/whitening.h), applied after `postprocess`: x -> W (x - mu),
  // signed power, L2. Empty path: none. Keys `whitening` (file, relative to the TOML),
  // `whitening_sha256` (required with it), `whitening_dims` (the file's output size, checked)
  // and `whitening_power` (Default: 1).
  std::string whitening_path;
  std::string whitening_sha256;
  int whitening_dims = 0;
  double whitening_power = 1.0;
  // `sim` for an inner product c of two vectors: 1 - (1 - max(c, 0))^p. Key
  // `similarity_power`; Default: 1 (sim = c). 2 with a whitening: see docs/models.md.
  double similarity_power = 1.0;
  // Geometric verification (features/local_features.h), for copy detection. Key
  // `verification` = "orb" turns it on (Default: "", none): every image then also yields ORB
  // keypoints, stored beside its vector, and a search re-scores its first
  // `verify_candidates` hits: one with >= `verify_min_inliers` matches that one similarity
  // transform explains scores 1 - 0.1 * verify_min_inliers / inliers (in [0.9, 1)); every
  // other hit 0.85 x its calibrated sim (below 0.86: "not the same image").
  // `verify_features` keypoints at most, found on the image shrunk to `verify_side` px.
  std::string verification;
  int verify_candidates = 10;
  int verify_min_inliers = 8;
  int verify_features = 300;
  int verify_side = 400;
};

// Parses `toml_path`; the ONNX path is resolved relative to the file's directory.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& toml_path);

}  // namespace iss::features

#endif  // ISS_FEATURES_MODEL_CONFIG_H_
