// Metrics: counters under one mutex (a request costs two map lookups), rendered on demand.
#include "api/http/metrics.h"

#include <charconv>
#include <string>

#include "api/http/router.h"

namespace iss::api {
namespace {

// Label values are route patterns and HTTP methods; escape anyway, as the format says.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// The shortest text that reads back as `v` (0.0025, not %.17g's 0.0025000000000000001): the
// `le` labels must be the bucket bounds as written, or dashboards see one series per spelling.
std::string Number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

}  // namespace

void Metrics::Observe(std::string_view method, std::string_view route, int status, double seconds) {
  const std::string r = route.empty() ? "(unmatched)" : std::string(route);
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  std::lock_guard l(mu_);
  ++requests_[{std::string(method), r, status}];
  Histogram& h = latency_[{std::string(method), r}];
  ++h.counts[bucket];
  h.sum += seconds;
  ++h.count;
}

std::string Metrics::Render(const std::vector<Gauge>& gauges) const {
  std::string out;
  for (const Gauge& g : gauges) {
    out += "# HELP imagesearch_" + g.name + " " + g.help + "\n";
    out += "# TYPE imagesearch_" + g.name + " gauge\n";
    out += "imagesearch_" + g.name + " " + Number(g.value) + "\n";
  }
  std::lock_guard l(mu_);
  out +=
      "# HELP imagesearch_http_requests_total HTTP requests answered, by method, route "
      "pattern and status.\n# TYPE imagesearch_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += "imagesearch_http_requests_total{method=\"" + Escape(method) + "\",route=\"" +
           Escape(route) + "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) +
           "\n";
  }
  out +=
      "# HELP imagesearch_http_request_duration_seconds Time from the request's headers to "
      "its answer, by method and route pattern.\n"
      "# TYPE imagesearch_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const std::string labels =
        "method=\"" + Escape(key.first) + "\",route=\"" + Escape(key.second) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = i < kBuckets.size() ? Number(kBuckets[i]) : "+Inf";
      out += "imagesearch_http_request_duration_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "imagesearch_http_request_duration_seconds_sum{" + labels + "} " + Number(h.sum) + "\n";
    out += "imagesearch_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(h.count) + "\n";
  }
  return out;
}

void RegisterMetricsRoute(Router* router, const Metrics* metrics,
                          std::function<std::vector<Metrics::Gauge>()> gauges) {
  router->Add("GET", "/metrics", [metrics, gauges](const Call&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics->Render(gauges ? gauges() : std::vector<Metrics::Gauge>{});
    return r;
  });
}

}  // namespace iss::api
