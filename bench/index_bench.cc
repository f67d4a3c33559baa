// imagesearch-bench index --vectors N [--queries Q] [--k K] [--pool P] [--dir DIR]
//                         [--nprobe P] [--rerank R] [--flat 0|1] [--sweep]
//                         [--nlist L] [--vector-bits 16|8] [--keep] [--reuse]
// --keep leaves the index directory; --reuse measures an index an earlier --keep
// run built (same N), so slow builds and quiet-machine query timings can be
// separate runs.
//
// The tiered index (index::TieredIndex, the product path) against exact search
// on vectors that look like real embeddings:
//  * a pool of P (default 3000) embeddings by the default model of random crops,
//    rotations, scales and flips of the photos in ../shared/eval/dev (cached in
//    ./bench-cache/), then
//  * N vectors each mixing one dominant pool vector with two others and a real
//    variation (a crop's deviation from its photo's mean crop, see Mixer),
//    clipped at 0 like the model's ReLU features and renormalised; queries are
//    drawn the same way from other seeds, so never identical to a stored vector.
// Exact top-k for every query (unfiltered, 10% and 1% filters) is computed by
// streaming all N vectors through BLAS, so no size needs them all in RAM. The
// exact baseline (faiss::IndexFlatIP, the same kernel the flat index uses) is
// timed in the same run while it fits in RAM (N <= 2M unless --flat).
// Prints build time, RAM and disk bytes per vector, recall@10, queries/s on 1
// and 2 threads, p50/p99 of one query on one thread, filtered recall and page
// fill, restart time (reopening the snapshot), the first pass after a restart
// with the vector file evicted from the page cache (cold) and with the preload
// (index.preload), and ends with:
//   recall@10=<x> qps=<q> p50_ms=<a> p99_ms=<b> ram_bytes_per_vector=<r>
#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <queue>
#include <random>
#include <roaring/roaring64map.hh>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "common/executor.h"
#include "features/model_registry.h"
#include "index/tiered_index.h"
#include "index/vector_file.h"

namespace fs = std::filesystem;

namespace {

using iss::bench::Clock;
using iss::bench::Sec;

std::string Arg(const std::vector<std::string>& args, const std::string& name,
                const std::string& def) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == name) return args[i + 1];
  }
  return def;
}
bool Flag(const std::vector<std::string>& args, const std::string& name) {
  return std::find(args.begin(), args.end(), name) != args.end();
}

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Embeddings of random crops/rotations/scales/flips of the eval photos.
bool MakePool(const fs::path& eval_dir, const std::string& model_dir, const std::string& model,
              size_t count, const fs::path& cache, std::vector<float>* pool, int* dim,
              size_t* n_photos) {
  std::vector<fs::path> photos;
  std::error_code ec;
  for (const char* sub : {"originals", "distractors"}) {
    for (const auto& e : fs::directory_iterator(eval_dir / sub, ec)) photos.push_back(e.path());
  }
  std::sort(photos.begin(), photos.end());
  *n_photos = photos.size();
  if (fs::exists(cache)) {
    std::ifstream in(cache, std::ios::binary);
    uint64_t n = 0;
    int32_t d = 0;
    in.read(reinterpret_cast<char*>(&n), 8).read(reinterpret_cast<char*>(&d), 4);
    if (in && n == count && d > 0) {
      pool->resize(n * d);
      in.read(reinterpret_cast<char*>(pool->data()), std::streamsize(pool->size() * 4));
      if (in) {
        *dim = d;
        return true;
      }
    }
  }
  if (photos.empty()) {
    std::fprintf(stderr, "index: no photos under %s\n", eval_dir.c_str());
    return false;
  }
  auto registry = iss::features::OpenModelRegistry(model_dir, {.threads = 1});
  if (!registry.ok()) {
    std::fprintf(stderr, "index: %s\n", registry.status().ToString().c_str());
    return false;
  }
  const iss::engine::Embedder* e = (*registry)->Find(model);
  if (e == nullptr) {
    std::fprintf(stderr, "index: no model %s in %s\n", model.c_str(), model_dir.c_str());
    return false;
  }
  *dim = e->dim();
  pool->assign(count * e->dim(), 0.0f);
  std::fprintf(stderr, "index: embedding %zu augmented crops of %zu photos...\n", count,
               photos.size());
  std::atomic<size_t> next{0}, failed{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < count;) {
      std::string bytes = ReadFile(photos[i % photos.size()]);
      cv::Mat img =
          cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, bytes.data()), cv::IMREAD_COLOR);
      if (img.empty()) {
        ++failed;
        continue;
      }
      std::mt19937 rng{uint32_t(i)};
      std::uniform_real_distribution<double> u(0, 1);
      if (i >= photos.size()) {  // the first round: the photos as they are
        double area = 0.35 + 0.65 * u(rng), aspect = 0.75 + 0.5 * u(rng);
        int w = std::clamp(int(img.cols * std::sqrt(area * aspect)), 32, img.cols);
        int h = std::clamp(int(img.rows * std::sqrt(area / aspect)), 32, img.rows);
        int x = int((img.cols - w) * u(rng)), y = int((img.rows - h) * u(rng));
        img = img(cv::Rect(x, y, w, h)).clone();
        if (u(rng) < 0.5) {
          double angle = -30 + 60 * u(rng);
          cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), angle, 1.0);
          cv::warpAffine(img, img, rot, img.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
        }
        if (u(rng) < 0.5) cv::flip(img, img, 1);
        double scale = 0.4 + 0.6 * u(rng);
        int sw = std::max(120, int(img.cols * scale)), sh = std::max(120, int(img.rows * scale));
        cv::resize(img, img, cv::Size(sw, sh), 0, 0, cv::INTER_AREA);
      }
      std::vector<uchar> jpg;
      cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 90});
      auto emb =
          e->Embed(std::string_view(reinterpret_cast<const char*>(jpg.data()), jpg.size()), {});
      if (!emb.ok()) {
        ++failed;
        continue;
      }
      std::copy(emb->vector.begin(), emb->vector.end(), pool->begin() + i * e->dim());
    }
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  if (failed > count / 10) {
    std::fprintf(stderr, "index: %zu of %zu pool images failed\n", failed.load(), count);
    return false;
  }
  fs::create_directories(cache.parent_path(), ec);
  std::ofstream out(cache, std::ios::binary);
  uint64_t n = count;
  int32_t d = *dim;
  out.write(reinterpret_cast<const char*>(&n), 8).write(reinterpret_cast<const char*>(&d), 4);
  out.write(reinterpret_cast<const char*>(pool->data()), std::streamsize(pool->size() * 4));
  return true;
}

// Vector i: a dominant pool vector plus two weaker ones and a variation,
// clipped at 0 and renormalised. Deterministic in i. The variation is a real
// one: how one crop of a photo differs from the mean of that photo's crops,
// scaled by 0.5..1.5 (plus faint isotropic noise so no two are equal). Real
// variations are structured (their top 64 directions hold ~58% of their energy,
// against ~20% for isotropic noise of the same size), and that structure is
// what a compressed index can exploit or not.
class Mixer {
 public:
  Mixer(const std::vector<float>& pool, int dim, size_t n_photos)
      : pool_(pool), dim_(dim), n_(pool.size() / dim) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    noise_.resize(1 << 20);
    for (float& x : noise_) x = nd(rng);
    // Pool vector j shows photo j % n_photos (MakePool's order).
    const size_t photos = std::max<size_t>(1, std::min(n_photos, n_));
    std::vector<double> mean(photos * dim, 0.0);
    std::vector<size_t> count(photos, 0);
    for (size_t j = 0; j < n_; ++j) {
      ++count[j % photos];
      for (int d = 0; d < dim; ++d) mean[(j % photos) * dim + d] += pool[j * dim + d];
    }
    dev_.resize(n_ * dim);
    for (size_t j = 0; j < n_; ++j) {
      for (int d = 0; d < dim; ++d) {
        dev_[j * dim + d] =
            float(pool[j * dim + d] - mean[(j % photos) * dim + d] / double(count[j % photos]));
      }
    }
  }
  void Make(uint64_t i, float* out) const {
    uint64_t s = i * 0x2545F4914F6CDD1Dull + 1;
    const float* b0 = pool_.data() + (SplitMix(s) % n_) * dim_;
    const float* b1 = pool_.data() + (SplitMix(s) % n_) * dim_;
    const float* b2 = pool_.data() + (SplitMix(s) % n_) * dim_;
    const float w1 = float(SplitMix(s) % 1000) / 3333.0f;  // 0 .. 0.3
    const float w2 = float(SplitMix(s) % 1000) / 6666.0f;  // 0 .. 0.15
    const float* dv = dev_.data() + (SplitMix(s) % n_) * dim_;
    const float ds = 0.5f + float(SplitMix(s) % 1000) / 1000.0f;  // 0.5 .. 1.5
    const float* nz = noise_.data() + SplitMix(s) % (noise_.size() - dim_);
    const float sigma = 0.02f / std::sqrt(float(dim_));  // faint: norm ~0.02
    double norm = 0;
    for (int d = 0; d < dim_; ++d) {
      float x = std::max(0.0f, b0[d] + w1 * b1[d] + w2 * b2[d] + ds * dv[d] + sigma * nz[d]);
      out[d] = x;
      norm += double(x) * x;
    }
    const float inv = norm > 0 ? float(1.0 / std::sqrt(norm)) : 0.0f;
    for (int d = 0; d < dim_; ++d) out[d] *= inv;
  }
  void MakeBatch(uint64_t first, size_t n, float* out) const {
    auto part = [&](size_t from, size_t to) {
      for (size_t j = from; j < to; ++j) Make(first + j, out + j * dim_);
    };
    std::thread t(part, 0, n / 2);
    part(n / 2, n);
    t.join();
  }

 private:
  const std::vector<float>& pool_;
  const int dim_;
  const size_t n_;
  std::vector<float> noise_;
  std::vector<float> dev_;  // per pool vector: its deviation from its photo's mean
};

// Exact top-k per query, streamed: min-heaps of (score, id).
struct TopK {
  using Entry = std::pair<float, uint64_t>;
  size_t k;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  void Push(float s, uint64_t id) {
    if (heap.size() < k) {
      heap.push({s, id});
    } else if (s > heap.top().first) {
      heap.pop();
      heap.push({s, id});
    }
  }
  float Kth() const { return heap.size() < k ? -2.0f : heap.top().first; }
};

bool InFilter(uint64_t id, int every) { return (id * 0x9E3779B97F4A7C15ull >> 32) % every == 0; }

// Recall@k counted by score: a hit scoring at least the exact k-th score is
// correct (exact ties at the boundary are not misses).
double Recall(const std::vector<iss::index::Hit>& hits, float kth, size_t want) {
  if (want == 0) return 1;
  size_t ok = 0;
  for (const auto& h : hits) ok += h.score >= kth - 1e-5f;
  return double(std::min(ok, want)) / double(want);
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * v.size()))];
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace

ISS_BENCH_COMMAND(index,
                  "index --vectors N [--queries Q] [--pool P] [--dir DIR] [--nprobe P] "
                  "[--rerank R] [--flat 0|1] [--keep]: tiered index vs exact")
(const std::vector<std::string>& args) {
  const size_t n = std::stoull(Arg(args, "--vectors", "100000"));
  const size_t nq = std::stoull(Arg(args, "--queries", "200"));
  const size_t k = std::stoull(Arg(args, "--k", "10"));
  const size_t pool_n = std::stoull(Arg(args, "--pool", "3000"));
  const std::string model = Arg(args, "--model", "common-search");
  const std::string model_dir = Arg(args, "--model-dir", ISS_MODEL_DIR);
  const fs::path eval_dir =
      Arg(args, "--eval", std::string(ISS_SOURCE_DIR) + "/../shared/eval/dev");
  const fs::path dir = Arg(args, "--dir", "/tmp/iss-index-bench-" + std::to_string(n));
  const bool with_flat = std::stoi(Arg(args, "--flat", n <= 2000000 ? "1" : "0")) != 0;
  // Background work on a pool of its own, as the server runs it on its shared executor.
  iss::Executor executor({.threads = 2, .name = "bench-index"});
  iss::index::TieredOptions opt;
  opt.executor = &executor;
  opt.dir = dir.string();
  opt.nprobe = std::stoi(Arg(args, "--nprobe", std::to_string(opt.nprobe)));
  opt.rerank = std::stoi(Arg(args, "--rerank", std::to_string(opt.rerank)));
  opt.exact_max = std::stoull(Arg(args, "--exact-max", std::to_string(opt.exact_max)));
  opt.pq_m = std::stoi(Arg(args, "--pq-m", "0"));
  opt.nlist = std::stoi(Arg(args, "--nlist", "0"));
  opt.vector_bits = std::stoi(Arg(args, "--vector-bits", "16"));
  // Bytes a vector of the vector files (8-bit: the file plus its 16-bit twin).
  const auto file_row = [&opt](int d) {
    using iss::index::RowBits;
    return opt.vector_bits == 8 ? iss::index::RowBytes(d, RowBits::k8) + iss::index::RowBytes(d)
                                : iss::index::RowBytes(d);
  };
  if (n == 0 || nq == 0 || k == 0) {
    std::fprintf(stderr, "index: bad arguments\n");
    return 2;
  }

  std::vector<float> pool;
  int dim = 0;
  size_t n_photos = 0;
  const fs::path cache =
      fs::path("bench-cache") / (model + "-pool-" + std::to_string(pool_n) + ".f32");
  auto t_pool = Clock::now();
  if (!MakePool(eval_dir, model_dir, model, pool_n, cache, &pool, &dim, &n_photos)) return 1;
  std::printf("pool=%zu photos=%zu dim=%d pool_s=%.1f (cache %s)\n", pool_n, n_photos, dim,
              Sec(t_pool), cache.c_str());
  setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  Mixer mixer(pool, dim, n_photos);
  std::vector<float> queries(nq * dim);
  for (size_t q = 0; q < nq; ++q) mixer.Make(uint64_t(1) << 40 | q, queries.data() + q * dim);

  // Phase A: exact answers, streamed (and the flat baseline filled).
  constexpr size_t kBatch = 32768;
  std::vector<TopK> exact(nq, TopK{k, {}}), exact10(nq, TopK{k, {}}), exact1(nq, TopK{k, {}});
  std::unique_ptr<faiss::IndexFlatIP> flat;
  if (with_flat) flat = std::make_unique<faiss::IndexFlatIP>(dim);
  std::vector<float> batch(kBatch * dim), scores(nq * kBatch);
  double gen_s = 0;
  auto t_truth = Clock::now();
  for (size_t first = 0; first < n; first += kBatch) {
    const size_t b = std::min(kBatch, n - first);
    auto tg = Clock::now();
    mixer.MakeBatch(first, b, batch.data());
    gen_s += Sec(tg);
    if (flat) flat->add(faiss::Index::idx_t(b), batch.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nq), int(b), dim, 1.0f, queries.data(),
                dim, batch.data(), dim, 0.0f, scores.data(), int(b));
    auto part = [&](size_t q0, size_t q1) {
      for (size_t q = q0; q < q1; ++q) {
        const float* row = scores.data() + q * b;
        for (size_t j = 0; j < b; ++j) {
          const uint64_t id = first + j;
          const float s = row[j];
          if (s > exact[q].Kth()) exact[q].Push(s, id);
          if (s > exact10[q].Kth() && InFilter(id, 10)) exact10[q].Push(s, id);
          if (s > exact1[q].Kth() && InFilter(id, 100)) exact1[q].Push(s, id);
        }
      }
    };
    std::thread t(part, 0, nq / 2);
    part(nq / 2, nq);
    t.join();
  }
  std::printf("truth_s=%.1f gen_s=%.1f (exact top-%zu of %zu queries, streamed)\n", Sec(t_truth),
              gen_s, k, nq);

  // Phase B: the product path. Adds one by one; training and merging run in
  // the background as in the server; build ends when the index is idle.
  std::error_code ec;
  const bool reuse = Flag(args, "--reuse") && fs::exists(dir / "snapshot.meta");
  if (!reuse) fs::remove_all(dir, ec);
  malloc_trim(0);
  const long rss0 = iss::bench::RssAnonKb();
  auto opened = iss::index::TieredIndex::Open(dim, opt);
  if (!opened.ok()) {
    std::fprintf(stderr, "index: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<iss::index::TieredIndex> ix = std::move(*opened);
  auto t_build = Clock::now();
  std::vector<float> row(dim);
  if (reuse) std::printf("reusing the index in %s (built by an earlier run)\n", dir.c_str());
  for (size_t first = 0; !reuse && first < n; first += kBatch) {
    const size_t b = std::min(kBatch, n - first);
    mixer.MakeBatch(first, b, batch.data());
    for (size_t j = 0; j < b; ++j) {
      std::copy(batch.data() + j * dim, batch.data() + (j + 1) * dim, row.begin());
      if (!ix->Put(first + j, row, 1).ok()) return 1;
    }
    if ((first / kBatch) % 64 == 63) {
      std::fprintf(stderr, "index: %zu added (%.0f s)\n", first + b, Sec(t_build));
    }
  }
  const double add_s = Sec(t_build);
  ix->WaitIdle();
  const double build_s = Sec(t_build);
  malloc_trim(0);
  const long rss1 = iss::bench::RssAnonKb();
  iss::index::TieredStats st = ix->Stats();
  const double ram_pv = double(st.ram_bytes) / double(n);
  const double rss_pv = double(rss1 - rss0) * 1024.0 / double(n);
  std::printf(
      "index=tiered vectors=%zu ann=%d nlist=%d builds=%llu merges=%llu add_s=%.1f build_s=%.1f "
      "ram_accounted_bytes_per_vector=%.1f rss_anon_bytes_per_vector=%.1f\n",
      n, int(st.ann), st.nlist, (unsigned long long)st.builds, (unsigned long long)st.merges, add_s,
      build_s, ram_pv, rss_pv);

  auto run_queries = [&](const iss::index::TieredIndex& index, const Roaring64Map* allowed,
                         const std::vector<TopK>& truth, std::vector<double>* lat, double* recall,
                         size_t* full) {
    double sum = 0;
    *full = 0;
    for (size_t q = 0; q < nq; ++q) {
      std::vector<float> qv(queries.begin() + q * dim, queries.begin() + (q + 1) * dim);
      auto t = Clock::now();
      auto hits = index.Search(qv, k, allowed);
      lat->push_back(Sec(t) * 1000);
      if (!hits.ok()) continue;
      sum += Recall(*hits, truth[q].Kth(), std::min(k, truth[q].heap.size()));
      *full += hits->size() == std::min(k, truth[q].heap.size());
    }
    *recall = sum / double(nq);
  };
  auto qps2 = [&](auto search_one, size_t reps) {
    std::atomic<size_t> next{0};
    auto t = Clock::now();
    auto worker = [&] {
      for (size_t q; (q = next++) < nq * reps;) search_one(q % nq);
    };
    std::thread a(worker), b2(worker);
    a.join();
    b2.join();
    return double(nq * reps) / Sec(t);
  };

  // Unfiltered, one thread.
  std::vector<double> lat;
  double recall = 0;
  size_t full = 0;
  run_queries(*ix, nullptr, exact, &lat, &recall, &full);  // warm-up pass (page cache)
  lat.clear();
  auto t_q = Clock::now();
  run_queries(*ix, nullptr, exact, &lat, &recall, &full);
  const double qps1 = double(nq) / Sec(t_q);
  const double qps_2 = qps2(
      [&](size_t q) {
        std::vector<float> qv(queries.begin() + q * dim, queries.begin() + (q + 1) * dim);
        (void)ix->Search(qv, k, nullptr);
      },
      3);
  const double p50 = Pct(lat, 0.5), p99 = Pct(lat, 0.99);
  std::printf("tiered: recall@10=%.4f qps_1t=%.1f qps_2t=%.1f p50_ms=%.3f p99_ms=%.3f\n", recall,
              qps1, qps_2, p50, p99);

  // The recall/latency trade-off of the re-rank depth and probe count.
  if (Flag(args, "--sweep")) {
    for (auto [np, rr] : std::vector<std::pair<int, int>>{{8, 100},
                                                          {16, 100},
                                                          {8, 200},
                                                          {16, 200},
                                                          {8, 300},
                                                          {8, 500},
                                                          {16, 500},
                                                          {32, 200},
                                                          {32, 500},
                                                          {64, 200},
                                                          {64, 500},
                                                          {128, 200}}) {
      ix->SetSearchKnobs(np, rr);
      std::vector<double> sl;
      double sr = 0;
      size_t sf = 0;
      run_queries(*ix, nullptr, exact, &sl, &sr, &sf);
      std::printf("sweep nprobe=%d rerank=%d: recall@10=%.4f p50_ms=%.3f p99_ms=%.3f\n", np, rr, sr,
                  Pct(sl, 0.5), Pct(sl, 0.99));
    }
    ix->SetSearchKnobs(opt.nprobe, opt.rerank);
  }

  // Filtered.
  for (int every : {10, 100}) {
    Roaring64Map allowed;
    for (uint64_t id = 0; id < n; ++id) {
      if (InFilter(id, every)) allowed.add(id);
    }
    std::vector<double> flat_lat;
    double frecall = 0;
    size_t ffull = 0;
    run_queries(*ix, &allowed, every == 10 ? exact10 : exact1, &flat_lat, &frecall, &ffull);
    std::printf("filtered_%d%%: recall@10=%.4f full_pages=%zu/%zu p50_ms=%.3f p99_ms=%.3f\n",
                100 / every, frecall, ffull, nq, Pct(flat_lat, 0.5), Pct(flat_lat, 0.99));
  }

  // The exact baseline, same run.
  if (flat) {
    std::vector<double> flat_lat;
    std::vector<float> d(k);
    std::vector<faiss::Index::idx_t> l(k);
    double fr = 0;
    auto tf = Clock::now();
    for (size_t q = 0; q < nq; ++q) {
      auto t = Clock::now();
      flat->search(1, queries.data() + q * dim, faiss::Index::idx_t(k), d.data(), l.data());
      flat_lat.push_back(Sec(t) * 1000);
      size_t ok = 0;
      for (float s : d) ok += s >= exact[q].Kth() - 1e-5f;
      fr += double(std::min(ok, k)) / double(k);
    }
    const double fq1 = double(nq) / Sec(tf);
    const double fq2 = qps2(
        [&](size_t q) {
          std::vector<float> dd(k);
          std::vector<faiss::Index::idx_t> ll(k);
          flat->search(1, queries.data() + q * dim, faiss::Index::idx_t(k), dd.data(), ll.data());
        },
        1);
    std::printf(
        "flat (IndexFlatIP): recall@10=%.4f qps_1t=%.1f qps_2t=%.1f p50_ms=%.3f p99_ms=%.3f "
        "ram_bytes_per_vector=%.1f\n",
        fr / double(nq), fq1, fq2, Pct(flat_lat, 0.5), Pct(flat_lat, 0.99), double(dim) * 4);
    std::printf("ratio tiered/flat: qps_1t=%.1fx p99=%.3fx\n", qps1 / fq1,
                p99 / Pct(flat_lat, 0.99));
    flat.reset();
  } else {
    std::printf(
        "flat (IndexFlatIP): not held in RAM at this size (%.1f GB); exact answers were "
        "streamed; exact latency measured below over the index's vector file\n",
        double(n) * dim * 4 / 1e9);
  }

  // Restart: close (writes the snapshot), reopen, query again.
  auto t_close = Clock::now();
  ix.reset();
  const double close_s = Sec(t_close);
  const uint64_t disk = DirBytes(dir);
  // Evict the vector file from the page cache: the first queries after this
  // restart (preload off) show what a re-rank costs when its rows come from
  // the disk; a second restart with the preload shows what it buys.
  auto evict = [&] {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("vectors-", 0) != 0) continue;
      int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
      }
    }
  };
  evict();
  iss::index::TieredOptions cold_opt = opt;
  cold_opt.preload = false;
  auto t_open = Clock::now();
  auto reopened = iss::index::TieredIndex::Open(dim, cold_opt);
  const double restart_s = Sec(t_open);
  if (!reopened.ok()) {
    std::fprintf(stderr, "index: reopen: %s\n", reopened.status().ToString().c_str());
    return 1;
  }
  iss::index::TieredStats st2 = (*reopened)->Stats();
  std::vector<double> lat2;
  double recall2 = 0;
  size_t full2 = 0;
  run_queries(**reopened, nullptr, exact, &lat2, &recall2, &full2);
  std::printf(
      "restart: close_s=%.2f restart_s=%.2f restored=%d live=%zu recall@10_after=%.4f "
      "disk_bytes_per_vector=%.1f (vector files %.1f + snapshot %.1f)\n",
      close_s, restart_s, int(st2.restored), st2.live, recall2, double(disk) / double(n),
      double(file_row(dim)), double(disk) / double(n) - double(file_row(dim)));
  std::printf(
      "cold (vector file evicted from the page cache, no preload, first pass): "
      "p50_ms=%.3f p99_ms=%.3f\n",
      Pct(lat2, 0.5), Pct(lat2, 0.99));
  reopened->reset();
  evict();
  {
    auto t_pre = Clock::now();
    auto warm = iss::index::TieredIndex::Open(dim, opt);  // preload on (the default)
    if (warm.ok()) {
      const double open_s = Sec(t_pre);
      (*warm)->WaitIdle();
      const double preload_s = Sec(t_pre);
      std::vector<double> lat3;
      double recall3 = 0;
      size_t full3 = 0;
      run_queries(**warm, nullptr, exact, &lat3, &recall3, &full3);
      std::printf(
          "preload (same restart, vector file read back in the background): open_s=%.2f "
          "preloaded_after_s=%.1f first pass p50_ms=%.3f p99_ms=%.3f recall@10=%.4f\n",
          open_s, preload_s, Pct(lat3, 0.5), Pct(lat3, 0.99), recall3);
    }
  }

  // Without an in-RAM baseline: exact search over the index's own 16-bit
  // vector file (the exact tier's kernel, every row), a few queries.
  if (!with_flat) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("vectors-", 0) != 0) continue;
      auto file = iss::index::VectorFile::Open(iss::Env::Default(), e.path().string(), dim, n);
      if (!file.ok()) break;
      std::vector<double> fl;
      for (size_t q = 0; q < 3 && q < nq; ++q) {
        auto t = Clock::now();
        TopK top{k, {}};
        for (size_t r = 0; r < n; ++r) {
          const float s = (*file)->Dot(queries.data() + q * dim, r);
          if (s > top.Kth()) top.Push(s, r);
        }
        fl.push_back(Sec(t) * 1000);
      }
      std::printf(
          "flat (exact scan of the 16-bit vector file, 3 queries): p50_ms=%.1f "
          "max_ms=%.1f ratio tiered/flat p50=%.4fx\n",
          Pct(fl, 0.5), Pct(fl, 1.0), p50 / Pct(fl, 0.5));
      break;
    }
  }
  if (!Flag(args, "--keep") && !reuse) fs::remove_all(dir, ec);

  std::printf("recall@10=%.4f qps=%.1f p50_ms=%.3f p99_ms=%.3f ram_bytes_per_vector=%.1f\n", recall,
              qps1, p50, p99, std::max(ram_pv, rss_pv));
  return recall2 + 1e-9 >= recall - 0.01 ? 0 : 1;
}
