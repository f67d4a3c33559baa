#include "features/model_config.h"

#include <toml++/toml.h>

#include <filesystem>

#include "common/status.h"

namespace iss::features {

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& toml_path) {
  toml::table t;
  try {
    t = toml::parse_file(toml_path);
  } catch (const toml::parse_error& e) {
    return Fail(Reason::kModelUnavailable,
                "(" + toml_path + ": " + std::string(e.description()) + ")");
  }
  auto bad = [&](const std::string& what) {
    return Fail(Reason::kModelUnavailable, "(" + toml_path + ": " + what + ")");
  };
  ModelConfig c;
  c.name = t["name"].value_or(std::string());
  if (c.name.empty()) return bad("`name` is required");
  c.display_name = t["display_name"].value_or(c.name);
  std::string onnx = t["onnx"].value_or(std::string());
  if (onnx.empty()) return bad("`onnx` is required");
  std::filesystem::path p(onnx);
  if (p.is_relative()) p = std::filesystem::path(toml_path).parent_path() / p;
  c.onnx_path = p.string();
  c.output = t["output"].value_or(std::string());
  c.input_width = t["input_width"].value_or(224);
  c.input_height = t["input_height"].value_or(224);
  if (c.input_width < 16 || c.input_height < 16 || c.input_width > 2048 || c.input_height > 2048) {
    return bad("input size out of range");
  }
  std::string color = t["color"].value_or(std::string("RGB"));
  if (color != "RGB" && color != "BGR") return bad("`color` must be RGB or BGR");
  c.rgb = color == "RGB";
  c.scale = t["scale"].value_or(1.0 / 255);
  for (const char* key : {"mean", "std"}) {
    if (const toml::array* a = t[key].as_array()) {
      if (a->size() != 3) return bad(std::string("`") + key + "` needs 3 numbers");
      auto& dst = std::string(key) == "mean" ? c.mean : c.std;
      for (size_t i = 0; i < 3; ++i) dst[i] = (*a)[i].value_or(0.0);
    }
  }
  for (double s : c.std) {
    if (s == 0) return bad("`std` must not be 0");
  }
  c.resize = t["resize"].value_or(std::string("stretch"));
  if (c.resize != "stretch" && c.resize != "center_crop") return bad("unknown `resize`");
  c.pooling = t["pooling"].value_or(std::string("avg"));
  if (c.pooling != "avg" && c.pooling != "max" && c.pooling != "gem" && c.pooling != "rmac") {
    return bad("unknown `pooling`");
  }
  c.signed_sqrt = false;
  c.l2 = false;
  if (const toml::array* a = t["postprocess"].as_array()) {
    for (const auto& v : *a) {
      std::string step = v.value_or(std::string());
      if (step == "signed_sqrt")
        c.signed_sqrt = true;
      else if (step == "l2")
        c.l2 = true;
      else
        return bad("unknown postprocess step `" + step + "`");
    }
  }
  if (const toml::array* a = t["query_rotations"].as_array()) {
    for (const auto& v : *a) {
      int deg = v.value_or(0);
      if (deg != 90 && deg != 180 && deg != 270) return bad("query_rotations: 90/180/270");
      c.query_rotations.push_back(deg);
    }
  }
  std::string whitening = t["whitening"].value_or(std::string());
  if (!whitening.empty()) {
    std::filesystem::path wp(whitening);
    if (wp.is_relative()) wp = std::filesystem::path(toml_path).parent_path() / wp;
    c.whitening_path = wp.string();
    c.whitening_sha256 = t["whitening_sha256"].value_or(std::string());
    if (c.whitening_sha256.size() != 64 ||
        c.whitening_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return bad("`whitening_sha256` must be 64 lower-case hex digits");
    }
    c.whitening_dims = t["whitening_dims"].value_or(0);
    if (c.whitening_dims <= 0) return bad("`whitening_dims` must be a positive integer");
    c.whitening_power = t["whitening_power"].value_or(1.0);
    if (!(c.whitening_power > 0 && c.whitening_power <= 1)) {
      return bad("`whitening_power` must be in (0, 1]");
    }
  } else if (t.contains("whitening_sha256") || t.contains("whitening_dims") ||
             t.contains("whitening_power")) {
    return bad("`whitening_*` keys need `whitening`");
  }
  c.similarity_power = t["similarity_power"].value_or(1.0);
  if (!(c.similarity_power >= 1 && c.similarity_power <= 4)) {
    return bad("`similarity_power` must be in [1, 4]");
  }
  c.verification = t["verification"].value_or(std::string());
  if (!c.verification.empty() && c.verification != "orb")
    return bad("`verification` must be \"orb\"");
  c.verify_candidates = t["verify_candidates"].value_or(10);
  c.verify_min_inliers = t["verify_min_inliers"].value_or(8);
  c.verify_features = t["verify_features"].value_or(300);
  c.verify_side = t["verify_side"].value_or(400);
  if (c.verify_candidates < 1 || c.verify_candidates > 100) {
    return bad("`verify_candidates` must be in [1, 100]");
  }
  if (c.verify_min_inliers < 4 || c.verify_min_inliers > 1000) {
    return bad("`verify_min_inliers` must be in [4, 1000]");
  }
  if (c.verify_features < 16 || c.verify_features > 5000) {
    return bad("`verify_features` must be in [16, 5000]");
  }
  if (c.verify_side < 64 || c.verify_side > 2048) return bad("`verify_side` must be in [64, 2048]");
  if (c.verification.empty()) {
    for (const char* key :
         {"verify_candidates", "verify_min_inliers", "verify_features", "verify_side"}) {
      if (t.contains(key)) return bad(std::string("`") + key + "` needs `verification`");
    }
  }
  return c;
}

}  // namespace iss::features
