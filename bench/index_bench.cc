// imagesearch-bench index --vectors N [--dim D] [--queries Q] [--k K]
// [--threads T]
//
// Baseline of the exact index (index::NewFlatIndex) for issue 5: build time,
// queries/s, p50/p99 latency of one query on one thread, RAM bytes per vector,
// and recall@10 checked against a plain C++ brute force on a sample of queries
// (1.0 expected for the exact index). Vectors are clustered (a few hundred
// centres plus noise, renormalised) rather than uniform noise, so
// neighbourhoods look like those of real embeddings; queries are drawn the same
// way and are never identical to a stored vector. Ends with: recall@10=<x>
// qps=<q> p50_ms=<a> p99_ms=<b> ram_bytes_per_vector=<r>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <roaring/roaring64map.hh>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "index/vector_index.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Generator {
  Generator(int dim, int centres, uint32_t seed) : dim(dim), rng(seed) {
    for (int c = 0; c < centres; ++c) centre.push_back(Noise(1.0f));
  }
  std::vector<float> Noise(float sigma) {
    std::normal_distribution<float> n(0.0f, sigma);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
  }
  std::vector<float> Next() {
    const std::vector<float>& c = centre[rng() % centre.size()];
    std::vector<float> v = Noise(0.6f);
    double norm = 0;
    for (int i = 0; i < dim; ++i) {
      v[i] += c[i];
      norm += double(v[i]) * v[i];
    }
    for (float& x : v) x = float(x / std::sqrt(norm));
    return v;
  }
  int dim;
  std::mt19937 rng;
  std::vector<std::vector<float>> centre;
};

int IntArg(const std::vector<std::string>& args, const std::string& name,
           int def) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return std::atoi(args[i + 1].c_str());
  }
  return def;
}

}  // namespace

ISS_BENCH_COMMAND(
    index, "exact index baseline: --vectors N [--dim D] [--queries Q] [--k K]")
(const std::vector<std::string>& args) {
  const int n = IntArg(args, "--vectors", 100000);
  const int dim = IntArg(args, "--dim", 576);
  const int nq = IntArg(args, "--queries", 500);
  const int k = IntArg(args, "--k", 10);
  const int check = std::min(nq, IntArg(args, "--check", 20));
  if (n <= 0 || dim <= 0 || nq <= 0 || k <= 0) {
    std::fprintf(stderr, "index: bad arguments\n");
    return 2;
  }
  Generator gen(dim, 256, 42);
  std::vector<float> data(size_t(n) * dim);
  for (int i = 0; i < n; ++i) {
    std::vector<float> v = gen.Next();
    std::copy(v.begin(), v.end(), data.begin() + size_t(i) * dim);
  }
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < nq; ++q) queries.push_back(gen.Next());

  auto index = iss::index::NewFlatIndex(dim);
  auto t0 = Clock::now();
  std::vector<float> row(dim);
  for (int i = 0; i < n; ++i) {
    std::copy(data.begin() + size_t(i) * dim,
              data.begin() + size_t(i + 1) * dim, row.begin());
    if (!index->Add(uint64_t(i), row).ok()) return 1;
  }
  double build_s = Ms(Clock::now() - t0) / 1000;

  std::vector<double> lat;
  std::vector<std::vector<iss::index::Hit>> results;
  auto s0 = Clock::now();
  for (const auto& q : queries) {
    auto t = Clock::now();
    auto hits = index->Search(q, k, nullptr);
    lat.push_back(Ms(Clock::now() - t));
    if (!hits.ok()) return 1;
    results.push_back(*hits);
  }
  double total_s = Ms(Clock::now() - s0) / 1000;
  std::sort(lat.begin(), lat.end());

  // Filtered at 10% selectivity (every 10th id).
  Roaring64Map tenth;
  for (int i = 0; i < n; i += 10) tenth.add(uint64_t(i));
  std::vector<double> flat;
  for (int q = 0; q < std::min(nq, 100); ++q) {
    auto t = Clock::now();
    auto hits = index->Search(queries[q], k, &tenth);
    flat.push_back(Ms(Clock::now() - t));
    if (!hits.ok()) return 1;
  }
  std::sort(flat.begin(), flat.end());

  // Recall@k against a plain brute force on the first `check` queries.
  double found = 0;
  for (int q = 0; q < check; ++q) {
    std::vector<std::pair<float, int>> all(n);
    for (int i = 0; i < n; ++i) {
      double s = 0;
      const float* r = data.data() + size_t(i) * dim;
      for (int d = 0; d < dim; ++d) s += double(queries[q][d]) * r[d];
      all[i] = {float(s), i};
    }
    std::partial_sort(all.begin(), all.begin() + std::min(k, n), all.end(),
                      [](auto& a, auto& b) { return a.first > b.first; });
    // Count by score threshold so exact ties at the k-th place do not count as
    // misses.
    float kth = all[std::min(k, n) - 1].first;
    int hit = 0;
    for (const auto& h : results[q]) hit += h.score >= kth - 1e-5f;
    found += double(std::min(hit, std::min(k, n))) / std::min(k, n);
  }
  double recall = check > 0 ? found / check : 0;
  auto pct = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, size_t(p * v.size()))];
  };
  std::printf(
      "index=flat vectors=%d dim=%d build_s=%.2f filtered10_p50_ms=%.3f "
      "filtered10_p99_ms=%.3f\n",
      n, dim, build_s, pct(flat, 0.5), pct(flat, 0.99));
  std::printf(
      "recall@10=%.4f qps=%.1f p50_ms=%.3f p99_ms=%.3f "
      "ram_bytes_per_vector=%.1f\n",
      recall, nq / total_s, pct(lat, 0.5), pct(lat, 0.99),
      double(index->MemoryBytes()) / n);
  return 0;
}
