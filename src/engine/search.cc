// Engine::Search: by image bytes, by a stored item's vector, by an image fetched from a
// locator, or by tags alone; pages of hits in one total order (score descending, then key
// ascending) that does not change between calls, so pages never repeat or skip an item.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "common/status_macros.h"
#include "engine/engine.h"
#include "engine/engine_rep.h"

namespace iss::engine {
namespace {

// A search's query: its vectors (several: variants, or several stored items) and, for a
// model that verifies, the query image's local features (empty: hits stay unverified).
struct QuerySet {
  std::vector<std::vector<float>> vectors;
  std::string local_features;
};

absl::Status AddEmbedding(const LiveGallery& g, std::string_view bytes,
                          const std::optional<model::Box>& crop, QuerySet* queries) {
  ASSIGN_OR_RETURN(Embedding emb,
                   g.embedder->Embed(bytes, {.purpose = Purpose::kQuery, .box = crop}));
  queries->vectors.push_back(std::move(emb.vector));
  for (auto& v : emb.variants) queries->vectors.push_back(std::move(v));
  queries->local_features = std::move(emb.local_features);
  return absl::OkStatus();
}

// The stored vector of the item under `key`, when there is one; with `local_features`, also
// what is stored of its local features (for a model that verifies).
absl::StatusOr<std::optional<std::vector<float>>> StoredVector(
    const Engine::Rep& r, const LiveGallery& g, const std::string& key,
    std::string* local_features = nullptr) {
  uint64_t id = 0;
  {
    std::shared_lock lock(g.mu);
    auto it = g.id_of.find(key);
    if (it == g.id_of.end()) return std::optional<std::vector<float>>();
    id = it->second;
  }
  ASSIGN_OR_RETURN(std::optional<CatalogStore::StoredVector> v,
                   r.ports.catalog->GetVector(g.record.uid, id));
  if (!v) return std::optional<std::vector<float>>();
  if (local_features && g.embedder->verify_candidates() > 0) {
    ASSIGN_OR_RETURN(std::optional<std::string> lf,
                     r.ports.catalog->GetLocalFeatures(g.record.uid, id));
    if (lf) *local_features = std::move(*lf);
  }
  return std::optional<std::vector<float>>(std::move(v->vector));
}

// The shard's hits for `v` that can rank among the first `want`: a shard's k best may cut a
// run of equal scores anywhere (its tie-break is not the key), so the search widens until
// the run at the boundary is complete or the shard has nothing more.
absl::StatusOr<std::vector<ScoredId>> CoveringSearch(const IndexShard& shard,
                                                     const std::vector<float>& v, size_t want,
                                                     const Roaring64Map* filter) {
  size_t k = std::max<size_t>(want, 1);
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<ScoredId> hits, shard.Search(v, k, filter));
    if (hits.size() < k || hits.back().score < hits[want == 0 ? 0 : want - 1].score) return hits;
    k *= 2;
  }
}

// One page of `g`'s items ranked against `queries` (no vectors: by tags alone), with q's
// filter, offset and limit. For a model that verifies, its first verify_candidates() hits
// (whatever the page) are re-scored by Embedder::Verify against their stored local features
// first, so every page is cut from the same order. Takes the gallery's lock for reading
// (the verification's catalog reads and matching included: ~1 ms a candidate).
absl::StatusOr<model::Page> RankPage(const Engine::Rep& r, const LiveGallery& g,
                                     const std::string& gallery, const QuerySet& queries,
                                     const model::Query& q) {
  // Checked before anything is sized from them: the index reserves offset + limit entries.
  if (q.limit > model::kMaxResultWindow || q.offset > model::kMaxResultWindow - q.limit) {
    return Fail(Reason::kInvalidArgument,
                "(offset + limit above " + std::to_string(model::kMaxResultWindow) + ")");
  }
  std::shared_lock lock(g.mu);
  if (g.deleted) return Fail(Reason::kGalleryNotFound, GalleryDetail(gallery, "was deleted"));
  std::optional<Roaring64Map> filter;
  if (!q.filter.empty()) filter = g.tags.Filter(q.filter);
  const size_t want = q.offset + q.limit;
  model::Page page;
  if (queries.vectors.empty()) {
    // Tags alone: every matching item, ordered by key, score 1.0.
    std::vector<const ItemMeta*> matches;
    for (uint64_t id : *filter) matches.push_back(&g.meta.at(id));
    std::sort(matches.begin(), matches.end(),
              [](const ItemMeta* a, const ItemMeta* b) { return a->key < b->key; });
    for (size_t i = q.offset; i < matches.size() && i < want; ++i) {
      page.hits.push_back({matches[i]->key, 1.0, matches[i]->tags});
    }
  } else {
    // Several query vectors (variants): an item's score is its best one.
    // A score is finite and in [0, 1] before it is compared (NaN breaks the sort's order):
    // a damaged stored vector must never be served as a match or as `null`.
    // The model maps inner products to its calibrated `sim` (Embedder::Similarity).
    std::unordered_map<uint64_t, float> best;
    const Embedder* model = g.embedder;
    const size_t verify = queries.local_features.empty() ? 0 : size_t(model->verify_candidates());
    auto offer = [&best, model](uint64_t id, float score) {
      score = model->Similarity(score);
      score = std::isfinite(score) ? std::clamp(score, 0.0f, 1.0f) : 0.0f;
      auto [it, inserted] = best.emplace(id, score);
      if (!inserted) it->second = std::max(it->second, score);
    };
    for (const auto& v : queries.vectors) {
      ASSIGN_OR_RETURN(
          std::vector<ScoredId> hits,
          CoveringSearch(*g.shard, v, std::max(want, verify), filter ? &*filter : nullptr));
      for (const ScoredId& h : hits) offer(h.id, h.score);
      // Committed vectors the index could not take yet (LiveGallery::unindexed), exactly.
      for (const auto& [id, u] : g.unindexed) {
        if (filter && !filter->contains(id)) continue;
        float score = 0;
        for (size_t i = 0; i < v.size() && i < u.vector.size(); ++i) score += v[i] * u.vector[i];
        offer(id, score);
      }
    }
    std::vector<std::pair<uint64_t, float>> ranked(best.begin(), best.end());
    auto order = [&](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return g.meta.at(a.first).key < g.meta.at(b.first).key;
    };
    std::sort(ranked.begin(), ranked.end(), order);
    if (verify > 0) {
      // Verify never lowers a score, so the candidates stay ahead of the rest.
      const size_t n = std::min(verify, ranked.size());
      for (size_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(std::optional<std::string> stored,
                         r.ports.catalog->GetLocalFeatures(g.record.uid, ranked[i].first));
        const float s = model->Verify(ranked[i].second, queries.local_features,
                                      stored ? std::string_view(*stored) : std::string_view());
        ranked[i].second =
            std::isfinite(s) ? std::clamp(s, ranked[i].second, 1.0f) : ranked[i].second;
      }
      std::sort(ranked.begin(), ranked.begin() + ptrdiff_t(n), order);
    }
    for (size_t i = q.offset; i < ranked.size() && i < want; ++i) {
      const ItemMeta& m = g.meta.at(ranked[i].first);
      page.hits.push_back({m.key, std::clamp(double(ranked[i].second), 0.0, 1.0), m.tags});
    }
  }
  // count: every item the query ranks, of which `hits` is one page (docs/api.md).
  page.count = filter ? int64_t(filter->cardinality()) : int64_t(g.meta.size());
  return page;
}

}  // namespace

absl::StatusOr<model::Page> Engine::Search(const std::string& project, const std::string& gallery,
                                           const model::Query& q) {
  const Rep& r = *rep_;
  ASSIGN_OR_RETURN(GalleryPtr g, r.FindUsable(project, gallery, q.filter));
  QuerySet queries;
  const bool has_image = q.image && !q.image->empty();
  const bool has_key = q.key && !q.key->empty();
  if (has_image) {
    RETURN_IF_ERROR(AddEmbedding(*g, *q.image, q.crop, &queries));
  } else if (has_key) {
    bool stored = false;
    if (!q.crop) {  // a crop needs the pixels: the stored vector will not do
      ASSIGN_OR_RETURN(std::optional<std::vector<float>> v,
                       StoredVector(r, *g, *q.key, &queries.local_features));
      if (v) {
        queries.vectors.push_back(std::move(*v));
        stored = true;
      }
    }
    if (!stored) {
      ASSIGN_OR_RETURN(std::string bytes, r.Fetch(*q.key));
      RETURN_IF_ERROR(AddEmbedding(*g, bytes, q.crop, &queries));
    }
  } else if (q.filter.empty()) {
    return Fail(Reason::kNoQuery);
  }

  return RankPage(r, *g, gallery, queries, q);
}

absl::StatusOr<model::Page> Engine::CrossSearch(const std::string& project,
                                                const std::string& source,
                                                const std::vector<std::string>& keys,
                                                const std::string& target, const model::Query& q) {
  const Rep& r = *rep_;
  ASSIGN_OR_RETURN(GalleryPtr src, r.FindUsable(project, source, {}));
  ASSIGN_OR_RETURN(GalleryPtr dst, r.FindUsable(project, target, q.filter));
  if (src->gallery().model != dst->gallery().model) {
    return Fail(Reason::kInvalidArgument, "(the two instances use different models)");
  }
  // Several stored items as one query: no single image to verify against, so a verifying
  // model's hits keep their unverified scores.
  QuerySet queries;
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(std::optional<std::vector<float>> v, StoredVector(r, *src, key));
    if (!v) {
      return Fail(Reason::kItemNotFound,
                  "(no image with path `" + key + "` in instance `" + source + "`)");
    }
    queries.vectors.push_back(std::move(*v));
  }
  if (queries.vectors.empty()) return Fail(Reason::kNoQuery);
  return RankPage(r, *dst, target, queries, q);
}

}  // namespace iss::engine
