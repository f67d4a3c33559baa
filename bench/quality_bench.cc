// imagesearch-bench quality DIR [--model NAME] [--model-dir DIR]
// Indexes DIR/originals + DIR/distractors, searches with every DIR/queries/* image (as the
// server does: Purpose::kQuery, hits merged by max similarity over the query's variants)
// and prints recall@1, recall@10 and mAP overall and per transform (truth.json), the
// distractor false-positive rate at rank 1, score statistics, the score calibration table
// (sim quantiles of copies and unrelated pairs; precision and recall of "same image if
// sim >= T", T = --threshold, Default: 0.86, the documented one) and category precision@5
// when DIR/categories.json exists; every unrelated hit at or above T is named on stderr
// (`false_pair query=... hit=... sim=...`). A model with geometric verification (image-copyright)
// re-scores each query's first verify_candidates() hits as the server does. Times: per
// stored image and per query (embedding; verification apart), and the bare forward pass
// (preprocessed blob -> feature map) of the same network in the same run, with the ratios.
// --distractors DIR2 adds every DIR2/*.jpg to the gallery as one more distractor
// (scripts/make-distractors.sh makes >= 10,000 of them). --before first evaluates the same
// network without its
// calibration (no whitening, sim = inner product) in the same run; --dump PREFIX writes
// the vectors (PREFIX.f32) and what they are (PREFIX.tsv).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "features/model_config.h"
#include "features/model_registry.h"
#include "features/onnx_embedder.h"

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

// Score calibration: sim quantiles of copies (a query and its original), of unrelated
// pairs (a query and every other gallery image), of the best unrelated hit of each query,
// and the "same image if sim >= threshold" decision's precision and recall: recall = share
// of copies at or above it, precision = copies / all pairs at or above it, against the
// distractors alone and against every unrelated gallery image.
struct Calibration {
  std::vector<float> copies, unrelated, distractors, top_unrelated;

  static std::string Quantiles(std::vector<float> v) {
    if (v.empty()) return "-";
    std::sort(v.begin(), v.end());
    std::string out;
    for (double q : {0.05, 0.25, 0.5, 0.75, 0.95}) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%s%.3f", out.empty() ? "" : "/",
                    v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))]);
      out += buf;
    }
    return out;
  }
  static size_t AtLeast(const std::vector<float>& v, double t) {
    return size_t(std::count_if(v.begin(), v.end(), [t](float s) { return s >= t; }));
  }
  void Print(const std::string& label, double threshold) const {
    std::printf("calibration%s sim_q05/25/50/75/95 copies=%s unrelated=%s top_unrelated=%s\n",
                label.c_str(), Quantiles(copies).c_str(), Quantiles(unrelated).c_str(),
                Quantiles(top_unrelated).c_str());
    std::vector<double> ts = {threshold};
    for (int i = 50; i <= 95; i += 5) ts.push_back(i / 100.0);
    for (double t : ts) {
      const size_t tp = AtLeast(copies, t);
      const size_t fd = AtLeast(distractors, t), fa = AtLeast(unrelated, t);
      std::printf(
          "threshold%s%s=%.3f recall=%.3f precision_vs_distractors=%.3f (%zu false) "
          "precision_vs_all=%.3f (%zu false)\n",
          label.c_str(), t == threshold ? "(documented)" : "", t,
          double(tp) / std::max<size_t>(1, copies.size()),
          double(tp) / std::max<size_t>(1, tp + fd), fd, double(tp) / std::max<size_t>(1, tp + fa),
          fa);
    }
  }
};

// One evaluation of `e` (see the file comment); `label` tags its summary lines.
int Evaluate(const iss::engine::Embedder* e, const std::string& model, const std::string& label,
             const std::string& dir, const nlohmann::json& truth, const std::string& dump,
             double threshold, const std::string& extra) {
  // Gallery.
  std::vector<std::string> names;
  std::vector<std::vector<float>> gallery;
  std::vector<std::string> local;  // each gallery image's local features (verifying models)
  auto t0 = std::chrono::steady_clock::now();
  // Gallery sources: (folder, name prefix); --distractors adds its JPEGs as distractors.
  std::vector<std::pair<fs::path, std::string>> sources = {
      {fs::path(dir) / "originals", "originals/"}, {fs::path(dir) / "distractors", "distractors/"}};
  if (!extra.empty()) sources.push_back({fs::path(extra), "distractors/extra/"});
  for (const auto& [folder, prefix] : sources) {
    for (const auto& p : ListImages(folder)) {
      if (prefix == "distractors/extra/" && p.extension() != ".jpg") continue;  // SOURCES.tsv
      auto emb = e->Embed(ReadFile(p), {});
      if (!emb.ok()) {
        std::fprintf(stderr, "%s: %s\n", p.c_str(), emb.status().ToString().c_str());
        continue;
      }
      names.push_back(prefix + p.filename().string());
      gallery.push_back(std::move(emb->vector));
      local.push_back(std::move(emb->local_features));
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
  Calibration cal;
  std::map<std::string, Acc> per;
  int fp_distractor = 0;
  double true_sim = 0, false_sim = 0;
  int true_n = 0, false_n = 0;
  std::vector<float> scores(gallery.size());
  const size_t verify = size_t(std::max(0, e->verify_candidates()));
  double embed_ms = 0, verify_ms = 0;
  for (auto it = truth.begin(); it != truth.end(); ++it) {
    const std::string qname = it.key();
    const std::string original = "originals/" + it.value().value("original", "");
    std::string transform = it.value().value("transform", "?");
    if (transform.rfind("combo", 0) == 0) transform = "combo";
    const std::string bytes = ReadFile(fs::path(dir) / "queries" / qname);
    auto tq = std::chrono::steady_clock::now();
    auto emb = e->Embed(bytes, {.purpose = iss::engine::Purpose::kQuery});
    embed_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tq).count();
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
        s = e->Similarity(s);  // what the server serves as `sim`
        scores[g] = std::isfinite(s) ? std::clamp(s, 0.0f, 1.0f) : 0.0f;
      }
      std::vector<int> order(gallery.size());
      for (size_t g = 0; g < order.size(); ++g) order[g] = int(g);
      auto better = [&](int a, int b) {
        return scores[a] != scores[b] ? scores[a] > scores[b] : names[a] < names[b];
      };
      std::sort(order.begin(), order.end(), better);
      if (verify > 0 && !emb->local_features.empty()) {
        // As the server's RankPage: the first `verify` hits re-scored, never lowered.
        auto tv = std::chrono::steady_clock::now();
        const size_t n = std::min(verify, order.size());
        for (size_t i = 0; i < n; ++i) {
          float& s = scores[order[i]];
          s = std::clamp(e->Verify(s, emb->local_features, local[order[i]]), s, 1.0f);
        }
        std::sort(order.begin(), order.begin() + ptrdiff_t(n), better);
        verify_ms +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tv)
                .count();
      }
      bool top_unrelated_seen = false;
      for (size_t r = 0; r < order.size(); ++r) {
        const bool distractor = names[order[r]].rfind("distractors/", 0) == 0;
        if (names[order[r]] == original) {
          cal.copies.push_back(scores[order[r]]);
        } else {
          cal.unrelated.push_back(scores[order[r]]);
          if (distractor) cal.distractors.push_back(scores[order[r]]);
          if (scores[order[r]] >= threshold) {  // a false "same image": name it for a look
            std::fprintf(stderr, "false_pair query=%s hit=%s sim=%.3f\n", qname.c_str(),
                         names[order[r]].c_str(), scores[order[r]]);
          }
          if (!top_unrelated_seen) cal.top_unrelated.push_back(scores[order[r]]);
          top_unrelated_seen = true;
        }
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
    std::printf("transform%s=%-16s n=%-3d recall@1=%.3f recall@10=%.3f mAP=%.3f\n", label.c_str(),
                name.c_str(), a.n, a.r1 / a.n, a.r10 / a.n, a.ap / a.n);
  }
  const double add_ms = ms(t0, t1) / std::max<size_t>(1, gallery.size());
  const double query_ms = embed_ms / std::max(1, all.n), ver_ms = verify_ms / std::max(1, all.n);
  std::printf(
      "gallery=%zu queries=%d add_ms_per_image=%.1f query_embed_ms=%.1f verify_ms_per_query=%.1f "
      "search_ms_per_query=%.1f (brute force over the gallery included)\n",
      gallery.size(), all.n, add_ms, query_ms, ver_ms, ms(t1, t2) / std::max(1, all.n));
  if (const auto* onnx = dynamic_cast<const iss::features::OnnxEmbedder*>(e)) {
    // The bare forward pass of the same network on the first (up to) 40 gallery images,
    // decoded and preprocessed beforehand: what every stored image and query costs at least.
    std::vector<cv::Mat> blobs;
    for (const char* sub : {"originals", "distractors"}) {
      for (const auto& p : ListImages(fs::path(dir) / sub)) {
        if (blobs.size() >= 40) break;
        auto img = onnx->Decode(ReadFile(p), std::nullopt);
        if (img.ok()) blobs.push_back(onnx->Preprocess(*img));
      }
    }
    auto tf = std::chrono::steady_clock::now();
    for (const cv::Mat& b : blobs) (void)onnx->Forward(b);
    const double fwd = ms(tf, std::chrono::steady_clock::now()) / std::max<size_t>(1, blobs.size());
    std::printf(
        "timing%s forward_ms=%.1f stored_image_ms=%.1f (%.2fx forward) query_ms=%.1f (%.2fx "
        "forward; embed %.1f + verify %.1f)\n",
        label.c_str(), fwd, add_ms, add_ms / fwd, query_ms + ver_ms, (query_ms + ver_ms) / fwd,
        query_ms, ver_ms);
  }
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
  cal.Print(label, threshold);
  std::printf("model=%s%s recall@1=%.3f recall@10=%.3f mAP=%.3f%s\n", model.c_str(), label.c_str(),
              all.r1 / all.n, all.r10 / all.n, all.ap / all.n, cat.c_str());
  return 0;
}

}  // namespace

ISS_BENCH_COMMAND(quality,
                  "quality DIR [--model NAME] [--model-dir DIR] [--before] [--threshold T] "
                  "[--dump PREFIX] [--distractors DIR2]: recall@k, mAP, score calibration")
(const std::vector<std::string>& args) {
  std::string dir, model = "common-search", model_dir = ISS_MODEL_DIR, dump, extra;
  double threshold = 0.86;
  bool before = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size())
      model = args[++i];
    else if (args[i] == "--dump" && i + 1 < args.size())
      dump = args[++i];
    else if (args[i] == "--threshold" && i + 1 < args.size())
      threshold = std::stod(args[++i]);
    else if (args[i] == "--distractors" && i + 1 < args.size())
      extra = args[++i];
    else if (args[i] == "--before")
      before = true;
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
  if (before) {
    // The same network without its calibration (no whitening, sim = inner product): the
    // model as it was before, evaluated in the same run.
    auto config =
        iss::features::LoadModelConfig((fs::path(model_dir) / (model + ".toml")).string());
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
      return 1;
    }
    config->whitening_path.clear();
    config->similarity_power = 1.0;
    auto raw = iss::features::OnnxEmbedder::Create(*config, 2);
    if (!raw.ok()) {
      std::fprintf(stderr, "%s\n", raw.status().ToString().c_str());
      return 1;
    }
    if (int rc = Evaluate(raw->get(), model, "[before]", dir, truth, dump, threshold, extra))
      return rc;
  }
  return Evaluate(e, model, before ? "[after]" : "", dir, truth, before ? "" : dump, threshold,
                  extra);
}
