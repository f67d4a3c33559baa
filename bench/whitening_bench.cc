// imagesearch-bench learn_whitening --out FILE [--model NAME] [--model-dir DIR]
//     [--dims N] [--shrink S] [--dump-samples FILE] IMAGE...
// Learns a model's calibration (features/whitening.h) from a generic photo sample: every
// IMAGE (read with OpenCV: JPEG, PNG, WebP) gives deterministic crops (the whole image and
// an n x n grid of windows at 4 sizes), each re-encoded as JPEG q90 and embedded by the
// model WITHOUT its whitening, exactly as the server would embed an upload. Then centring
// + PCA whitening of those vectors is written to FILE with its SHA-256 (scripts/
// learn-whitening.sh runs it on the wallpapers of Debian packages). --dump-samples writes
// the raw sample vectors (float32, row-major) for inspection.
// Single-threaded apart from OpenCV's own forward-pass threads.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench.h"
#include "features/model_config.h"
#include "features/onnx_embedder.h"
#include "features/whitening.h"

namespace fs = std::filesystem;

namespace {

// Longest side of a crop as uploaded (the service's limit is 2048; 1024 keeps it quick).
constexpr int kMaxSide = 1024;
constexpr int kMinSide = 100;

// The crops of one image: the whole image, then n x n windows of side fraction 1/n * 1.4
// (overlapping) for n = 2..5.
std::vector<cv::Mat> Crops(const cv::Mat& img) {
  std::vector<cv::Mat> out{img};
  for (int n = 2; n <= 5; ++n) {
    const double frac = std::min(1.0, 1.4 / n);
    const int cw = int(img.cols * frac), ch = int(img.rows * frac);
    if (std::min(cw, ch) < kMinSide) continue;
    for (int iy = 0; iy < n; ++iy) {
      for (int ix = 0; ix < n; ++ix) {
        int x0 = (img.cols - cw) * ix / (n - 1), y0 = (img.rows - ch) * iy / (n - 1);
        out.push_back(img(cv::Rect(x0, y0, cw, ch)));
      }
    }
  }
  return out;
}

// One copy edit of `img`, op 0..7 (the kinds of edit a copy detector must absorb: blur,
// rotation, heavy JPEG, crop, downscale, photometric change, overlaid text, mirror).
cv::Mat Edit(const cv::Mat& img, int op, cv::RNG& rng) {
  cv::Mat out;
  switch (op) {
    case 0:
      cv::GaussianBlur(img, out, cv::Size(), rng.uniform(1.5, 3.5));
      return out;
    case 1: {
      static const double kAngles[] = {5, -5, 15, -15, 90};
      const double a = kAngles[rng.uniform(0, 5)];
      cv::Point2f c(img.cols / 2.f, img.rows / 2.f);
      cv::Mat m = cv::getRotationMatrix2D(c, a, 1.0);
      cv::Rect2f box = cv::RotatedRect(c, img.size(), float(a)).boundingRect2f();
      m.at<double>(0, 2) += box.width / 2.0 - c.x;
      m.at<double>(1, 2) += box.height / 2.0 - c.y;
      cv::warpAffine(img, out, m, box.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
      return out;
    }
    case 2: {
      std::vector<unsigned char> jpeg;
      cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, rng.uniform(15, 26)});
      return cv::imdecode(jpeg, cv::IMREAD_COLOR);
    }
    case 3: {
      const double area = rng.uniform(0.5, 0.8), aspect = rng.uniform(0.9, 1.1);
      int w = std::min(img.cols, int(img.cols * std::sqrt(area * aspect)));
      int h = std::min(img.rows, int(img.rows * std::sqrt(area / aspect)));
      int x = rng.uniform(0, img.cols - w + 1), y = rng.uniform(0, img.rows - h + 1);
      return img(cv::Rect(x, y, w, h)).clone();
    }
    case 4: {
      const double f = rng.uniform(280, 321) / double(std::max(img.cols, img.rows));
      cv::resize(img, out, cv::Size(), f, f, cv::INTER_AREA);
      return out;
    }
    case 5: {
      const double contrast = rng.uniform(0.6, 1.45), bright = rng.uniform(0.6, 1.45);
      const double sat = rng.uniform(0.6, 1.45);
      cv::Mat grey, grey3;
      cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
      cv::cvtColor(grey, grey3, cv::COLOR_GRAY2BGR);
      cv::addWeighted(img, sat, grey3, 1 - sat, 0, out);
      const double m = cv::mean(grey)[0];
      out.convertTo(out, -1, contrast * bright, (1 - contrast) * m * bright);
      return out;
    }
    case 6: {
      out = img.clone();
      static const char* kTexts[] = {"SAMPLE", "(c) 2024 PhotoCo", "COPY", "stock photo"};
      const std::string text = kTexts[rng.uniform(0, 4)];
      const double scale = img.rows * 0.08 / 22.0;
      int base = 0;
      cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 2, &base);
      cv::Point at(std::max(0, img.cols - ts.width - 10), img.rows - base - 10);
      cv::putText(out, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 6);
      cv::putText(out, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255), 2);
      return out;
    }
    default:
      cv::flip(img, out, 1);
      return out;
  }
}

}  // namespace

ISS_BENCH_COMMAND(learn_whitening,
                  "learn_whitening --out FILE [--model NAME] [--dims N] [--shrink S] IMAGE...: "
                  "learn a model's calibration from package photos")
(const std::vector<std::string>& args) {
  std::string model = "common-search", model_dir = ISS_MODEL_DIR, out, dump, from_dump;
  int dims = 0;
  double shrink = 0.1;
  int views = 0;
  std::vector<std::string> images;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size())
      model = args[++i];
    else if (args[i] == "--model-dir" && i + 1 < args.size())
      model_dir = args[++i];
    else if (args[i] == "--out" && i + 1 < args.size())
      out = args[++i];
    else if (args[i] == "--dump-samples" && i + 1 < args.size())
      dump = args[++i];
    else if (args[i] == "--dims" && i + 1 < args.size())
      dims = std::stoi(args[++i]);
    else if (args[i] == "--shrink" && i + 1 < args.size())
      shrink = std::stod(args[++i]);
    else if (args[i] == "--from-dump" && i + 1 < args.size())
      from_dump = args[++i];
    else if (args[i] == "--views" && i + 1 < args.size())
      views = std::stoi(args[++i]);
    else
      images.push_back(args[i]);
  }
  if ((out.empty() && dump.empty()) || (images.empty() && from_dump.empty())) {
    std::fprintf(stderr, "usage: imagesearch-bench learn_whitening --out FILE IMAGE...\n");
    return 2;
  }
  std::sort(images.begin(), images.end());
  auto config = iss::features::LoadModelConfig((fs::path(model_dir) / (model + ".toml")).string());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  config->whitening_path.clear();  // the raw vectors are what the transform takes
  cv::setNumThreads(2);
  auto e = iss::features::OnnxEmbedder::Create(*config, 1);
  if (!e.ok()) {
    std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
    return 1;
  }
  std::vector<std::vector<float>> samples, copies;
  std::vector<std::pair<size_t, size_t>> pairs;  // (sample, copy)
  cv::RNG rng(20261202);
  if (!from_dump.empty()) {  // the vectors of an earlier --dump-samples run
    const size_t d = size_t((*e)->dim());
    auto read = [&](const std::string& path, std::vector<std::vector<float>>& out) {
      std::ifstream f(path, std::ios::binary);
      std::vector<float> v(d);
      while (f.read(reinterpret_cast<char*>(v.data()), std::streamsize(d * 4))) out.push_back(v);
    };
    read(from_dump, samples);
    read(from_dump + ".copies", copies);
    std::ifstream fp(from_dump + ".pairs");
    size_t s = 0;
    while (fp >> s) pairs.push_back({s, pairs.size()});
    if (pairs.size() != copies.size()) {
      std::fprintf(stderr, "%s: pairs and copies differ in number\n", from_dump.c_str());
      return 1;
    }
    images.clear();
  }
  for (const std::string& path : images) {
    cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
    if (img.empty() || std::min(img.cols, img.rows) < kMinSide) {
      std::fprintf(stderr, "%s: skipped (unreadable or smaller than %d px)\n", path.c_str(),
                   kMinSide);
      continue;
    }
    int n = 0;
    for (const cv::Mat& crop : Crops(img)) {
      cv::Mat c = crop;
      const int side = std::max(c.cols, c.rows);
      if (side > kMaxSide) {
        cv::resize(crop, c, cv::Size(), double(kMaxSide) / side, double(kMaxSide) / side,
                   cv::INTER_AREA);
      }
      if (std::min(c.cols, c.rows) < kMinSide) continue;
      auto embed = [&](const cv::Mat& m) -> std::optional<std::vector<float>> {
        if (std::min(m.cols, m.rows) < kMinSide) return std::nullopt;
        std::vector<unsigned char> jpeg;
        cv::imencode(".jpg", m, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
        auto emb = (*e)->Embed(
            std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()), {});
        if (!emb.ok()) return std::nullopt;
        return std::move(emb->vector);
      };
      auto base = embed(c);
      if (!base) continue;
      // Copy pairs: `views` edited versions of the crop (one or two edits each).
      for (int k = 0; k < views; ++k) {
        cv::Mat edited = Edit(c, int(rng.uniform(0, 8)), rng);
        if (rng.uniform(0.0, 1.0) < 0.3) edited = Edit(edited, int(rng.uniform(0, 8)), rng);
        auto v = embed(edited);
        if (!v) continue;
        pairs.push_back({samples.size(), copies.size()});
        copies.push_back(std::move(*v));
      }
      samples.push_back(std::move(*base));
      ++n;
    }
    std::fprintf(stderr, "%s: %d crops\n", path.c_str(), n);
  }
  std::printf("images=%zu samples=%zu copies=%zu dim=%d\n", images.size(), samples.size(),
              copies.size(), (*e)->dim());
  if (!dump.empty() && from_dump.empty()) {
    std::ofstream f(dump, std::ios::binary | std::ios::trunc);
    for (const auto& v : samples) {
      f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
    }
    std::ofstream fc(dump + ".copies", std::ios::binary | std::ios::trunc);
    std::ofstream fp(dump + ".pairs", std::ios::trunc);
    for (size_t i = 0; i < copies.size(); ++i) {
      fc.write(reinterpret_cast<const char*>(copies[i].data()),
               std::streamsize(copies[i].size() * 4));
      fp << pairs[i].first << "\n";
    }
  }
  if (out.empty()) return 0;
  std::vector<size_t> copy_of;
  for (const auto& [sample, copy] : pairs) copy_of.push_back(sample);
  const int out_dim = dims > 0 ? dims : int(samples.empty() ? 0 : samples[0].size());
  auto w = copies.empty() ? iss::features::Whitening::Learn(samples, out_dim, shrink, 1.0)
                          : iss::features::Whitening::LearnFromPairs(samples, copies, copy_of,
                                                                     out_dim, shrink, 1.0);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
    return 1;
  }
  if (auto s = w->Save(out); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("whitening=%s in_dim=%d out_dim=%d shrink=%g pairs=%zu sha256=%s\n", out.c_str(),
              w->in_dim(), w->out_dim(), shrink, copies.size(),
              iss::features::FileSha256(out).c_str());
  return 0;
}
