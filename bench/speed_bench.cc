// imagesearch-bench speed [--model NAME] [--model-dir DIR] [--images DIR] [--n N]
//                         [--rounds R]
// Times the feature pipeline on 1024-px JPEGs (the photos of DIR, default the dev set's
// originals, re-encoded at 1024 px, quality 90): decode ms, preprocess+forward+pool ms,
// the bare Net::forward ms as the baseline, and images/s on 1 and 2 threads (each of the N
// images embedded R times, default 2).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "features/model_config.h"
#include "features/onnx_embedder.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

ISS_BENCH_COMMAND(speed,
                  "speed [--model NAME] [--images DIR] [--n N] [--rounds R]: decode/forward ms, "
                  "img/s")
(const std::vector<std::string>& args) {
  std::string model = "common-search", model_dir = ISS_MODEL_DIR;
  std::string images = std::string(ISS_SOURCE_DIR) + "/../shared/eval/dev/originals";
  int n = 40;
  size_t repeat = 2;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--model")
      model = args[i + 1];
    else if (args[i] == "--model-dir")
      model_dir = args[i + 1];
    else if (args[i] == "--images")
      images = args[i + 1];
    else if (args[i] == "--n")
      n = std::stoi(args[i + 1]);
    else if (args[i] == "--rounds")
      repeat = size_t(std::max(1, std::stoi(args[i + 1])));
  }
  auto config = iss::features::LoadModelConfig(model_dir + "/" + model + ".toml");
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  // 1024-px JPEGs in memory.
  std::vector<std::string> jpegs;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(images)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    cv::Mat img = cv::imread(f.string(), cv::IMREAD_COLOR);
    if (img.empty()) continue;
    double s = 1024.0 / std::max(img.cols, img.rows);
    cv::resize(img, img, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    std::vector<unsigned char> buf;
    cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
    jpegs.emplace_back(buf.begin(), buf.end());
    if (int(jpegs.size()) >= n) break;
  }
  if (jpegs.empty()) {
    std::fprintf(stderr, "no images in %s\n", images.c_str());
    return 1;
  }
  std::printf("model=%s images=%zu size=1024px cores=%u\n", model.c_str(), jpegs.size(),
              std::thread::hardware_concurrency());
  for (int threads : {1, 2}) {
    cv::setNumThreads(threads);
    auto e = iss::features::OnnxEmbedder::Create(*config, threads);
    if (!e.ok()) {
      std::fprintf(stderr, "%s\n", e.status().ToString().c_str());
      return 1;
    }
    // Warm-up.
    for (int i = 0; i < 3; ++i) (void)(*e)->Embed(jpegs[i % jpegs.size()], {});
    // Latency of one caller using `threads` OpenCV threads: decode, rest, bare forward.
    std::vector<double> decode, rest, total, bare, query;
    cv::Mat blob;
    for (const auto& j : jpegs) {
      auto t0 = Clock::now();
      auto img = (*e)->Decode(j, std::nullopt);
      auto t1 = Clock::now();
      blob = (*e)->Preprocess(*img);
      auto out = (*e)->Forward(blob);
      auto pooled = (*e)->Pool(*out);
      auto t2 = Clock::now();
      (void)(*e)->Forward(blob);
      auto t3 = Clock::now();
      (void)(*e)->Embed(j, {.purpose = iss::engine::Purpose::kQuery});
      auto t4 = Clock::now();
      decode.push_back(Ms(t0, t1));
      rest.push_back(Ms(t1, t2));
      total.push_back(Ms(t0, t2));
      bare.push_back(Ms(t2, t3));
      query.push_back(Ms(t3, t4));
    }
    // Throughput: `threads` concurrent callers, one OpenCV thread each.
    cv::setNumThreads(1);
    std::atomic<size_t> next{0};
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    const size_t rounds = jpegs.size() * repeat;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (size_t i; (i = next++) < rounds;) (void)(*e)->Embed(jpegs[i % jpegs.size()], {});
      });
    }
    for (auto& t : pool) t.join();
    double secs = Ms(t0, Clock::now()) / 1000;
    std::printf(
        "threads=%d decode_ms=%.2f forward_pool_ms=%.2f total_ms=%.2f bare_forward_ms=%.2f "
        "ratio_total_to_bare=%.2f query_ms=%.2f images_per_s=%.1f\n",
        threads, Median(decode), Median(rest), Median(total), Median(bare),
        Median(total) / std::max(1e-9, Median(bare)), Median(query), rounds / secs);
  }
  return 0;
}
