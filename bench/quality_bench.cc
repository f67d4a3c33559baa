// imagesearch-bench quality DIR [--model NAME] [--model-dir DIR]
// Indexes DIR/originals + DIR/distractors, searches with every DIR/queries/* image (as the
// server does: Purpose::kQuery, hits merged by max similarity over the query's variants)
// and prints recall@1, recall@10 and mAP overall and per transform (truth.json), the
// distractor false-positive rate at rank 1, score statistics, and category precision@5
// when DIR/categories.json exists.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "features/model_registry.h"

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> ListImages(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

struct Acc {
  int n = 0;
  double r1 = 0, r10 = 0, ap = 0;
  void Add(int rank) {  // rank 1-based, 0 = not found
    ++n;
    r1 += rank == 1;
    r10 += rank >= 1 && rank <= 10;
    ap += rank >= 1 ? 1.0 / rank : 0;
  }
};

}  // namespace

ISS_BENCH_COMMAND(quality, "quality DIR [--model NAME] [--model-dir DIR]: recall@k, mAP")
(const std::vector<std::string>& args) {
  std::string dir, model = "common-search", model_dir = ISS_MODEL_DIR, dump;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size())
      model = args[++i];
    else if (args[i] == "--dump" && i + 1 < args.size())
      dump = args[++i];
    else if (args[i] == "--model-dir" && i + 1 < args.size())
      model_dir = args[++i];
    else
      dir = args[i];
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: imagesearch-bench quality DIR [--model NAME]\n");
    return 2;
  }
  auto registry = iss::features::OpenModelRegistry(model_dir, {.threads = 2});
  if (!registry.ok()) {
    std::fprintf(stderr, "%s\n", registry.status().ToString().c_str());
    return 1;
  }
  const iss::engine::Embedder* e = (*registry)->Find(model);
  if (!e) {
    std::fprintf(stderr, "no model %s\n", model.c_str());
    return 1;
  }
  nlohmann::json truth =
      nlohmann::json::parse(ReadFile(fs::path(dir) / "truth.json"), nullptr, false);
  if (truth.is_discarded()) {
    std::fprintf(stderr, "cannot read %s/truth.json\n", dir.c_str());
    return 1;
  }
  // Gallery.
  std::vector<std::string> names;
  std::vector<std::vector<float>> gallery;
  auto t0 = std::chrono::steady_clock::now();
  for (const char* sub : {"originals", "distractors"}) {
    for (const auto& p : ListImages(fs::path(dir) / sub)) {
      auto emb = e->Embed(ReadFile(p), {});
      if (!emb.ok()) {
        std::fprintf(stderr, "%s: %s\n", p.c_str(), emb.status().ToString().c_str());
        continue;
      }
      names.push_back(std::string(sub) + "/" + p.filename().string());
      gallery.push_back(std::move(emb->vector));
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  std::ofstream dump_vec, dump_names;
  if (!dump.empty()) {
    dump_vec.open(dump + ".f32", std::ios::binary | std::ios::trunc);
    dump_names.open(dump + ".tsv", std::ios::trunc);
    for (size_t g = 0; g < gallery.size(); ++g) {
      dump_vec.write(reinterpret_cast<const char*>(gallery[g].data()),
                     std::streamsize(gallery[g].size() * 4));
      dump_names << "gallery\t" << names[g] << "\t-\n";
    }
  }
  // Queries.
  Acc all;
  std::map<std::string, Acc> per;
  int fp_distractor = 0;
  double true_sim = 0, false_sim = 0;
  int true_n = 0, false_n = 0;
  std::vector<float> scores(gallery.size());
  std::map<std::string, std::vector<int>> ranked_by_name;
  for (auto it = truth.begin(); it != truth.end(); ++it) {
    const std::string qname = it.key();
    const std::string original = "originals/" + it.value().value("original", "");
    std::string transform = it.value().value("transform", "?");
    if (transform.rfind("combo", 0) == 0) transform = "combo";
    auto emb = e->Embed(ReadFile(fs::path(dir) / "queries" / qname),
                        {.purpose = iss::engine::Purpose::kQuery});
    int rank = 0;
    if (emb.ok() && dump_vec.is_open()) {
      dump_vec.write(reinterpret_cast<const char*>(emb->vector.data()),
                     std::streamsize(emb->vector.size() * 4));
      dump_names << "query\t" << original << "\t" << transform << "\n";
    }
    if (emb.ok()) {
      for (size_t g = 0; g < gallery.size(); ++g) {
        float s = Dot(emb->vector, gallery[g]);
        for (const auto& v : emb->variants) s = std::max(s, Dot(v, gallery[g]));
        scores[g] = s;
      }
      std::vector<int> order(gallery.size());
      for (size_t g = 0; g < order.size(); ++g) order[g] = int(g);
      std::sort(order.begin(), order.end(), [&](int a, int b) {
        return scores[a] != scores[b] ? scores[a] > scores[b] : names[a] < names[b];
      });
      for (size_t r = 0; r < order.size(); ++r) {
        if (names[order[r]] == original) {
          rank = int(r) + 1;
          true_sim += scores[order[r]];
          ++true_n;
        } else {
          false_sim += scores[order[r]];
          ++false_n;
        }
      }
      if (!order.empty() && names[order[0]].rfind("distractors/", 0) == 0) ++fp_distractor;
    } else {
      std::fprintf(stderr, "%s: %s\n", qname.c_str(), emb.status().ToString().c_str());
    }
    all.Add(rank);
    per[transform].Add(rank);
  }
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  for (const auto& [name, a] : per) {
    std::printf("transform=%-16s n=%-3d recall@1=%.3f recall@10=%.3f mAP=%.3f\n", name.c_str(), a.n,
                a.r1 / a.n, a.r10 / a.n, a.ap / a.n);
  }
  std::printf("gallery=%zu queries=%d add_ms_per_image=%.1f search_ms_per_query=%.1f\n",
              gallery.size(), all.n, ms(t0, t1) / std::max<size_t>(1, gallery.size()),
              ms(t1, t2) / std::max(1, all.n));
  std::printf("distractor_fp@1=%.3f mean_sim_true=%.3f mean_sim_false=%.3f\n",
              double(fp_distractor) / std::max(1, all.n), true_sim / std::max(1, true_n),
              false_sim / std::max(1, false_n));
  std::string cat;
  fs::path cats = fs::path(dir) / "categories.json";
  if (fs::exists(cats)) {
    // Category precision@5: each original as query, share of its top-5 other gallery
    // images that are in the same category.
    nlohmann::json cj = nlohmann::json::parse(ReadFile(cats), nullptr, false);
    std::map<std::string, std::string> cat_of;
    if (!cj.is_discarded() && cj.contains("categories")) {
      for (auto& [c, list] : cj["categories"].items()) {
        for (auto& f : list) cat_of[f.get<std::string>()] = c;
      }
    }
    double p5 = 0;
    int nq = 0;
    for (size_t q = 0; q < names.size(); ++q) {
      auto qc = cat_of.find(names[q]);
      if (qc == cat_of.end()) continue;
      std::vector<std::pair<float, size_t>> s;
      for (size_t g = 0; g < names.size(); ++g) {
        if (g != q) s.push_back({Dot(gallery[q], gallery[g]), g});
      }
      std::partial_sort(s.begin(), s.begin() + std::min<size_t>(5, s.size()), s.end(),
                        [](auto& a, auto& b) { return a.first > b.first; });
      int hit = 0;
      for (size_t k = 0; k < 5 && k < s.size(); ++k) {
        auto gc = cat_of.find(names[s[k].second]);
        hit += gc != cat_of.end() && gc->second == qc->second;
      }
      p5 += hit / 5.0;
      ++nq;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, " categoryP@5=%.3f", nq ? p5 / nq : 0.0);
    cat = buf;
  }
  std::printf("model=%s recall@1=%.3f recall@10=%.3f mAP=%.3f%s\n", model.c_str(), all.r1 / all.n,
              all.r10 / all.n, all.ap / all.n, cat.c_str());
  return 0;
}
