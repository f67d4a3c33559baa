// `imagesearch-bench http`: the whole HTTP stack under wrk (keep-alive).
//
//   imagesearch-bench http [--seconds 10] [--connections 64] [--threads 2]
//                          [--image FILE] [--model-dir DIR] [--skip-images]
//
// Starts the production stack in-process (RocksDB in a temp dir, the model registry, the
// engine, the v1 routes and pipeline, api::HttpServer on 127.0.0.1:0, auth off), creates an
// instance, then drives it with wrk:
//   check   POST .../image/check           (no inference: the server's own overhead)
//   add     POST .../image  with a 1024-px JPEG (re-adding one path: replace)
//   search  POST .../image/search with the same JPEG
// Prints name=value lines: <op>_rps, <op>_p50_ms, <op>_p99_ms. Requires wrk on PATH.
// The server counts every request into api::Metrics as imagesearchd does; a second server
// without metrics on the same service is the baseline of `check_metrics_ratio` (three
// alternating rounds each, medians).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "api/http/http_server.h"
#include "api/http/metrics.h"
#include "api/http/pipeline.h"
#include "api/http/router.h"
#include "api/v1/routes.h"
#include "bench.h"
#include "stack.h"

namespace iss::bench {
namespace {

std::string Base64(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(a[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(a[(v >> 18) & 63]);
    out.push_back(a[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? a[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// A JPEG whose longest side is 1024 px, made from `source`.
std::string Jpeg1024(const std::string& source) {
  cv::Mat img = cv::imread(source, cv::IMREAD_COLOR);
  if (img.empty()) return "";
  double scale = 1024.0 / std::max(img.cols, img.rows);
  cv::Mat out;
  cv::resize(img, out, cv::Size(), scale, scale, scale > 1 ? cv::INTER_CUBIC : cv::INTER_AREA);
  std::vector<uchar> buf;
  cv::imencode(".jpg", out, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(buf.begin(), buf.end());
}

struct WrkResult {
  double rps = 0, p50_ms = 0, p99_ms = 0;
  bool ok = false;
};

double ToMs(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

WrkResult RunWrk(const std::string& dir, const std::string& name, const std::string& url,
                 const std::string& body, int threads, int connections, int seconds) {
  const std::string body_file = dir + "/" + name + ".json";
  std::ofstream(body_file) << body;
  const std::string lua = dir + "/" + name + ".lua";
  std::ofstream(lua) << "wrk.method = \"POST\"\n"
                     << "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                     << "local f = io.open(\"" << body_file << "\", \"rb\")\n"
                     << "wrk.body = f:read(\"*a\")\nf:close()\n";
  const std::string cmd = "wrk --latency -t" + std::to_string(threads) + " -c" +
                          std::to_string(connections) + " -d" + std::to_string(seconds) + "s -s " +
                          lua + " " + url + " 2>&1";
  WrkResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  pclose(p);
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    r.rps = std::stod(m[1]);
    r.ok = true;
  }
  if (std::regex_search(out, m, std::regex(R"(\n\s+50%\s+([0-9.]+)(us|ms|s))"))) {
    r.p50_ms = ToMs(m[1], m[2]);
  }
  if (std::regex_search(out, m, std::regex(R"(\n\s+99%\s+([0-9.]+)(us|ms|s))"))) {
    r.p99_ms = ToMs(m[1], m[2]);
  }
  if (out.find("Non-2xx") != std::string::npos) {
    std::fprintf(stderr, "%s: wrk saw non-2xx answers:\n%s\n", name.c_str(), out.c_str());
    r.ok = false;
  }
  return r;
}

void Print(const std::string& name, const WrkResult& r) {
  std::printf("%s_rps=%.1f\n%s_p50_ms=%.3f\n%s_p99_ms=%.3f\n", name.c_str(), r.rps, name.c_str(),
              r.p50_ms, name.c_str(), r.p99_ms);
  std::fflush(stdout);
}

}  // namespace
}  // namespace iss::bench

ISS_BENCH_COMMAND(http, "http [--seconds S] [--connections C] [--image F]: wrk on check/add/search")
(const std::vector<std::string>& args) {
  using namespace iss;
  int seconds = 10, connections = 64, threads = 2, workers = 2;
  bool skip_images = false;
  std::string image = std::string(ISS_SOURCE_DIR) + "/tests/data/golden.jpg";
  std::string model_dir = ISS_MODEL_DIR;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (a == "--seconds")
      seconds = std::stoi(next());
    else if (a == "--connections")
      connections = std::stoi(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--workers")
      workers = std::stoi(next());
    else if (a == "--image")
      image = next();
    else if (a == "--model-dir")
      model_dir = next();
    else if (a == "--skip-images")
      skip_images = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const std::string dir = std::filesystem::temp_directory_path().string() + "/iss-http-bench-" +
                          std::to_string(getpid());
  std::filesystem::create_directories(dir);
  int rc = 1;
  {
    auto models = features::OpenModelRegistry(model_dir, {});
    if (!models.ok())
      return std::fprintf(stderr, "models: %s\n", models.status().ToString().c_str()), 1;
    auto stack = bench::Stack::Open(dir, models->get());
    if (!stack.ok())
      return std::fprintf(stderr, "stack: %s\n", stack.status().ToString().c_str()), 1;
    engine::Engine* engine = (*stack)->engine.get();
    spdlog::set_level(spdlog::level::warn);  // no access log lines in the measurement
    api::Router router;
    api::v1::RegisterRoutes(&router, engine);
    api::Pipeline pipeline(&router, nullptr,
                           api::PipelineOptions{.default_errors = api::v1::RenderDefaultError});
    api::Metrics metrics;
    api::HttpServerOptions http;
    http.port = 0;
    http.worker_threads = workers;
    auto server = api::HttpServer::Start(http, &pipeline, &metrics);
    if (!server.ok())
      return std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str()), 1;
    auto bare = api::HttpServer::Start(http, &pipeline, nullptr);
    if (!bare.ok())
      return std::fprintf(stderr, "server: %s\n", bare.status().ToString().c_str()), 1;
    const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/v1/p";
    const std::string bare_base = "http://127.0.0.1:" + std::to_string((*bare)->port()) + "/v1/p";
    model::GallerySpec spec;
    spec.name = "bench";
    spec.model = "common-search";
    spec.capacity = 30000000;
    if (!engine->CreateGallery("p", spec).ok()) return 1;
    const std::string jpeg = bench::Jpeg1024(image);
    if (jpeg.empty()) return std::fprintf(stderr, "cannot read %s\n", image.c_str()), 1;
    model::NewItem add;
    add.key = "seed.jpg";
    add.image = jpeg;
    if (!engine->PutItem("p", "bench", add).ok()) return 1;
    const std::string file = bench::Base64(jpeg);
    std::printf(
        "wrk_threads=%d\nwrk_connections=%d\nseconds=%d\nworker_threads=%d\n"
        "image_bytes=%zu\n",
        threads, connections, seconds, workers, jpeg.size());
    std::vector<bench::WrkResult> with, without;
    for (int round = 0; round < 3; ++round) {
      with.push_back(bench::RunWrk(dir, "check", base + "/bench/image/check",
                                   R"({"path":"seed.jpg"})", threads, connections, seconds));
      without.push_back(bench::RunWrk(dir, "check", bare_base + "/bench/image/check",
                                      R"({"path":"seed.jpg"})", threads, connections, seconds));
    }
    auto median = [](std::vector<bench::WrkResult> v) {
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.rps < b.rps; });
      return v[v.size() / 2];
    };
    bench::WrkResult check = median(with), check_bare = median(without);
    bench::Print("check", check);
    bench::Print("check_without_metrics", check_bare);
    std::printf("check_metrics_ratio=%.3f\n", check.rps / check_bare.rps);
    rc = check.ok && check_bare.ok ? 0 : 1;
    if (!skip_images) {
      // Inference-bound: a few connections keep the worker pool busy.
      const int c = std::max(workers * 2, 2);
      bench::WrkResult add_r = bench::RunWrk(dir, "add", base + "/bench/image",
                                             R"({"path":"again.jpg","file":")" + file + "\"}",
                                             std::min(threads, c), c, seconds);
      bench::Print("add", add_r);
      bench::WrkResult search =
          bench::RunWrk(dir, "search", base + "/bench/image/search",
                        R"({"limit":10,"file":")" + file + "\"}", std::min(threads, c), c, seconds);
      bench::Print("search", search);
      if (!add_r.ok || !search.ok) rc = 1;
    }
    (*server)->Shutdown();
    (*bare)->Shutdown();
  }
  std::filesystem::remove_all(dir);
  return rc;
}
