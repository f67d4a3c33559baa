// Operator metrics in the Prometheus text format (GET /metrics, not part of the cloud's
// API): requests by method, route pattern and status, a latency histogram per method and
// route, and gauges the caller supplies (instances, images, index bytes). Labels are route
// patterns, never raw paths, so no project or instance name appears and the series count
// stays bounded.
//
//   api::Metrics metrics;
//   http_options.metrics = &metrics;                       // the server observes requests
//   api::RegisterMetricsRoute(&router, &metrics, [&] { return GaugesFromCore(); });
//
// Thread contract: Observe() and Render() may run concurrently from any thread.
#ifndef ISS_API_HTTP_METRICS_H_
#define ISS_API_HTTP_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace iss::api {

class Router;

class Metrics {
 public:
  struct Gauge {
    std::string name;  // without the imagesearch_ prefix
    std::string help;
    double value = 0;
  };
  // Upper bounds (seconds) of the latency histogram's buckets, then +Inf.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

  // `route`: the matched pattern; empty for requests no route matched.
  void Observe(std::string_view method, std::string_view route, int status, double seconds);
  std::string Render(const std::vector<Gauge>& gauges) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size() + 1> counts{};  // per bucket, last = above all
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
};

// GET /metrics: no authentication (it carries no per-project data).
void RegisterMetricsRoute(Router* router, const Metrics* metrics,
                          std::function<std::vector<Metrics::Gauge>()> gauges);

}  // namespace iss::api

#endif  // ISS_API_HTTP_METRICS_H_
