// `imagesearch-bench catalog --images N`: what a large instance costs the service at
// start-up, through the product path (the engine over the real RocksDB catalog and index shards).
//
//   imagesearch-bench catalog [--images 1000000] [--dir DIR] [--model-dir DIR]
//
// Creates one instance (tag key `category`), writes N image records and vectors straight
// into its catalog (paths like images/2026/11/<16 hex>.jpg, one tag each; random unit
// vectors: no recall is measured here), then:
//   first_open   Engine::Open with no index snapshot: scans the records, replays every
//                vector into the index; then the ANN tier trains in the background (build)
//   restart      close (snapshot written) and Engine::Open again: the start-up an operator
//                sees after a restart
// Prints name=value lines: *_s timings, rss_anon_bytes_per_image after the restart, the
// index's accounted bytes per image and the rest (gallery metadata: path maps, tags).
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "stack.h"
#include "store/catalog_codec.h"

using iss::bench::Sec;

ISS_BENCH_COMMAND(catalog,
                  "catalog [--images N]: start-up time and RAM per image of a large instance")
(const std::vector<std::string>& args) {
  using namespace iss;
  size_t n = 1000000;
  std::string dir = "/tmp/iss-catalog-bench-" + std::to_string(getpid());
  std::string model_dir = ISS_MODEL_DIR;
  for (size_t i = 0; i < args.size(); ++i) {
    auto next = [&]() { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (args[i] == "--images")
      n = std::stoull(next());
    else if (args[i] == "--dir")
      dir = next();
    else if (args[i] == "--model-dir")
      model_dir = next();
    else
      return std::fprintf(stderr, "unknown argument %s\n", args[i].c_str()), 2;
  }
  std::filesystem::remove_all(dir);
  auto models = features::OpenModelRegistry(model_dir, {});
  if (!models.ok())
    return std::fprintf(stderr, "models: %s\n", models.status().ToString().c_str()), 1;
  const int dim = 576;
  index::TieredOptions index_options;
  uint64_t uid = 0;
  {
    auto stack = bench::Stack::Open(dir, models->get(), index_options);
    if (!stack.ok())
      return std::fprintf(stderr, "stack: %s\n", stack.status().ToString().c_str()), 1;
    model::GallerySpec spec;
    spec.name = "cat";
    spec.model = "common-search";
    spec.capacity = 30000000;
    spec.tag_keys = {"category"};
    if (!(*stack)->engine->CreateGallery("p", spec).ok()) return 1;
    auto galleries = (*stack)->catalog->LoadGalleries();
    if (!galleries.ok() || galleries->empty()) return 1;
    uid = galleries->back().uid;
  }
  auto db = store::Database::Open(dir + "/db", {});
  if (!db.ok()) return std::fprintf(stderr, "db: %s\n", db.status().ToString().c_str()), 1;
  auto kv = (*db)->Namespace("catalog");
  if (!kv.ok()) return 1;
  // Records and vectors, written in batches as PutItems would, straight into the catalog.
  auto t_write = bench::Clock::now();
  std::mt19937_64 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> v(dim);
  std::vector<std::pair<std::string, std::optional<std::string>>> batch;
  for (size_t i = 0; i < n; ++i) {
    engine::ItemRecord r;
    char name[64];
    std::snprintf(name, sizeof(name), "images/2026/11/%016llx.jpg",
                  static_cast<unsigned long long>(rng()));
    r.key = name;
    r.id = i + 1;
    r.created_ms = r.updated_ms = 1763900000000 + int64_t(i);
    r.model = "common-search";
    r.tags = {{"category", "c" + std::to_string(i % 20)}};
    r.version = i + 1;
    double norm = 0;
    for (float& x : v) {
      x = std::max(0.0f, g(rng));
      norm += double(x) * x;
    }
    for (float& x : v) x = float(x / std::sqrt(norm));
    batch.emplace_back(store::ItemKey(uid, r.key), store::EncodeItem(r));
    batch.emplace_back(store::VectorKey(uid, r.id), store::EncodeVector(r.version, v));
    if (batch.size() >= 20000 || i + 1 == n) {
      if (!(*kv)->Write(batch).ok()) return 1;
      batch.clear();
    }
  }
  std::printf("images=%zu write_s=%.1f\n", n, Sec(t_write));
  std::fflush(stdout);
  db->reset();

  auto wait_built = [&](engine::Engine& e) {
    for (;;) {
      auto info = e.GetIndexStats("p", "cat");
      if (!info.ok()) return false;
      // Built: the ANN tier is in use (above exact_max) and the side buffer is below
      // the merge threshold (rows under it stay in the buffer by design).
      if (info->vectors == int64_t(n) && (n <= index_options.exact_max || info->tier == "ivf-pq") &&
          info->buffer_rows < int64_t(index_options.merge_rows)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  };
  {
    auto t_open = bench::Clock::now();
    auto stack = bench::Stack::Open(dir, models->get(), index_options);
    if (!stack.ok()) return 1;
    const double open_s = Sec(t_open);
    if (!wait_built(*(*stack)->engine)) return 1;
    std::printf("first_open_s=%.1f first_open_until_built_s=%.1f\n", open_s, Sec(t_open));
    std::fflush(stdout);
  }  // closing writes the index snapshot
  malloc_trim(0);
  const long rss0 = iss::bench::RssAnonKb();
  auto t_open = bench::Clock::now();
  auto stack = bench::Stack::Open(dir, models->get(), index_options);
  if (!stack.ok()) return 1;
  const double restart_s = Sec(t_open);
  auto info = (*stack)->engine->GetIndexStats("p", "cat");
  if (!info.ok() || info->vectors != int64_t(n)) return 1;
  malloc_trim(0);
  const double rss_pi = double(iss::bench::RssAnonKb() - rss0) * 1024 / double(n);
  const double index_pi = double(info->ram_bytes) / double(n);
  std::printf(
      "restart_s=%.2f restored=%d rss_anon_bytes_per_image=%.1f "
      "index_bytes_per_image=%.1f metadata_bytes_per_image=%.1f\n",
      restart_s, int(info->restored), rss_pi, index_pi, rss_pi - index_pi);
  stack->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
