// core::Service over the catalog (store/), the embedding models (features/),
// one vector index per instance (index/) and the downloader (fetch/).
//
// In memory per instance: path -> id, id -> {path, tags}, tag bitmaps, the
// vector index (index::TieredIndex, persisted under <index_dir>/<uid>/). At
// start-up the records are scanned (no vectors: they live under vec/), the
// index loads its snapshot, and only vectors the snapshot does not reflect
// (by version stamp) are read and replayed; ids the store no longer has are
// dropped from the index. The catalog is the source of truth and every change
// is written (synced) to it before memory is updated and OK returned.
// Locking: `mu_` guards the instance map; each instance has a shared_mutex
// (searches shared, writes exclusive).
// Embedding and downloads run before any lock is taken.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <roaring/roaring64map.hh>
#include <shared_mutex>
#include <unordered_map>

#include "absl/strings/numbers.h"
#include "common/error.h"
#include "common/status_macros.h"
#include "core/catalog.h"
#include "core/service.h"
#include "fetch/fetcher.h"
#include "index/tiered_index.h"
#include "store/kv.h"

namespace iss::core {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct ImageMeta {
  std::string path;
  Tags tags;
  int64_t created_ms = 0;
};

struct Gallery {
  std::shared_mutex mu;
  InstanceRecord record;
  const features::Embedder* embedder = nullptr;
  std::unordered_map<std::string, uint64_t> id_of;                      // path -> id
  std::unordered_map<uint64_t, ImageMeta> meta;                         // id -> path, tags
  std::map<std::string, std::map<std::string, Roaring64Map>> tag_bits;  // key -> value -> ids
  std::unique_ptr<index::TieredIndex> index;
  uint64_t next_id = 1;
  uint64_t next_version = 1;  // write stamp of the next image (catalog.h)
  bool deleted = false;

  void IndexTags(uint64_t id, const Tags& tags, bool add) {
    for (const auto& [k, v] : tags) {
      if (add) {
        tag_bits[k][v].add(id);
      } else {
        auto it = tag_bits.find(k);
        if (it == tag_bits.end()) continue;
        auto vit = it->second.find(v);
        if (vit == it->second.end()) continue;
        vit->second.remove(id);
        if (vit->second.isEmpty()) it->second.erase(vit);
      }
    }
  }

  // Ids whose tags match every given key=value.
  Roaring64Map Filter(const Tags& tags) const {
    Roaring64Map result;
    bool first = true;
    for (const auto& [k, v] : tags) {
      auto it = tag_bits.find(k);
      if (it == tag_bits.end()) return Roaring64Map();
      auto vit = it->second.find(v);
      if (vit == it->second.end()) return Roaring64Map();
      if (first) {
        result = vit->second;
        first = false;
      } else {
        result &= vit->second;
      }
    }
    return result;
  }
};

using GalleryPtr = std::shared_ptr<Gallery>;

absl::Status CheckTagKeys(const Instance& inst, const Tags& tags) {
  for (const auto& [k, v] : tags) {
    if (std::find(inst.tags.begin(), inst.tags.end(), k) == inst.tags.end()) {
      return Error("IS.1004", "(tag `" + k + "` is not one of the instance's tags)");
    }
  }
  return absl::OkStatus();
}

class ServiceImpl : public Service {
 public:
  ServiceImpl(const ServiceOptions& options, store::Kv* kv, const features::ModelRegistry* models,
              const fetch::Fetcher* fetcher)
      : options_(options), kv_(kv), models_(models), fetcher_(fetcher) {}

  absl::Status Load() {
    std::vector<InstanceRecord> records;
    absl::Status decode_error;
    RETURN_IF_ERROR(kv_->Scan("inst/", [&](std::string_view, std::string_view value) {
      auto r = DecodeInstance(value);
      if (!r.ok()) {
        decode_error = r.status();
        return false;
      }
      records.push_back(std::move(*r));
      return true;
    }));
    RETURN_IF_ERROR(decode_error);
    ASSIGN_OR_RETURN(std::optional<std::string> seq, kv_->Get("seq/instance"));
    next_uid_ = 1;
    if (seq && !absl::SimpleAtoi(*seq, &next_uid_)) {
      return Error("IS.0009", "(corrupt instance sequence `" + *seq + "`)");
    }
    size_t images = 0;
    for (auto& rec : records) {
      auto g = std::make_shared<Gallery>();
      g->record = rec;
      g->embedder = models_->Find(rec.instance.model);
      if (g->embedder == nullptr) {
        spdlog::error("instance {}/{}: model {} is not installed; instance is ABNORMAL",
                      rec.instance.project_id, rec.instance.name, rec.instance.model);
        g->record.instance.status = "ABNORMAL";
      }
      ASSIGN_OR_RETURN(g->index, OpenIndex(rec.uid, g->embedder));
      RETURN_IF_ERROR(LoadImages(*g));
      images += g->meta.size();
      next_uid_ = std::max(next_uid_, rec.uid + 1);
      galleries_[Key(rec.instance.project_id, rec.instance.name)] = std::move(g);
    }
    spdlog::info("catalog loaded: {} instances, {} images", galleries_.size(), images);
    return absl::OkStatus();
  }

  absl::StatusOr<Instance> CreateInstance(const std::string& project_id,
                                          const InstanceSpec& spec) override {
    const features::Embedder* embedder = models_->Find(spec.model);
    if (embedder == nullptr) return Error("IS.3014", "(model `" + spec.model + "`)");
    std::unique_lock lock(mu_);
    if (galleries_.count(Key(project_id, spec.name))) {
      return Error("IS.3000", "(instance `" + spec.name + "`)");
    }
    int in_project = 0;
    for (const auto& [key, g] : galleries_)
      in_project += g->record.instance.project_id == project_id;
    if (in_project >= options_.max_instances_per_project) {
      return Error("IS.3028", "(a project may have at most " +
                                  std::to_string(options_.max_instances_per_project) +
                                  " instances)");
    }
    auto g = std::make_shared<Gallery>();
    InstanceRecord& r = g->record;
    r.uid = next_uid_++;
    r.instance.project_id = project_id;
    r.instance.name = spec.name;
    r.instance.model = spec.model;
    r.instance.domain = spec.model;
    r.instance.description = spec.description;
    r.instance.level = spec.level;
    r.instance.tags = spec.tags;
    r.instance.register_date_ms = NowMs();
    r.instance.expired_date_ms = -1;
    r.instance.status = "NORMAL";
    RETURN_IF_ERROR(kv_->Write({{InstanceKey(project_id, spec.name), EncodeInstance(r)},
                                {"seq/instance", std::to_string(next_uid_)}}));
    g->embedder = embedder;
    ASSIGN_OR_RETURN(g->index, OpenIndex(r.uid, embedder));
    galleries_[Key(project_id, spec.name)] = g;
    return r.instance;
  }

  absl::StatusOr<Instance> GetInstance(const std::string& project_id,
                                       const std::string& name) override {
    GalleryPtr g = Find(project_id, name);
    if (!g) return Error("IS.4004", "(instance `" + name + "`)");
    std::shared_lock lock(g->mu);
    Instance inst = g->record.instance;
    inst.image_count = int64_t(g->meta.size());
    return inst;
  }

  absl::StatusOr<std::vector<Instance>> ListInstances(const std::string& project_id) override {
    std::vector<GalleryPtr> gs;
    {
      std::shared_lock lock(mu_);
      for (const auto& [key, g] : galleries_) {
        if (g->record.instance.project_id == project_id) gs.push_back(g);
      }
    }
    std::vector<Instance> out;
    for (const auto& g : gs) {
      std::shared_lock lock(g->mu);
      out.push_back(g->record.instance);
      out.back().image_count = int64_t(g->meta.size());
    }
    std::sort(out.begin(), out.end(),
              [](const Instance& a, const Instance& b) { return a.name < b.name; });
    return out;
  }

  absl::Status DeleteInstance(const std::string& project_id, const std::string& name) override {
    GalleryPtr g;
    std::string begin, end;
    {
      std::unique_lock lock(mu_);
      auto it = galleries_.find(Key(project_id, name));
      if (it == galleries_.end()) return Error("IS.4004", "(instance `" + name + "`)");
      g = it->second;
      std::unique_lock glock(g->mu);
      begin = ImagePrefix(g->record.uid);
      end = ImagePrefix(g->record.uid + 1);
      // Images first, then the instance record: a crash in between leaves an
      // empty instance the client can delete again, never unreachable image
      // records. Uids are never reused, so nothing can be written into the
      // range afterwards.
      RETURN_IF_ERROR(kv_->DeleteRange(begin, end));
      RETURN_IF_ERROR(
          kv_->DeleteRange(VectorPrefix(g->record.uid), VectorPrefix(g->record.uid + 1)));
      RETURN_IF_ERROR(kv_->Delete(InstanceKey(project_id, name)));
      g->deleted = true;
      galleries_.erase(it);
    }
    // Outside the locks (blocks this caller only): stop the index's background work
    // (an unfinished training is abandoned), remove its files, reclaim the disk space.
    g->index->Destroy();
    kv_->CompactRange(begin, end);
    kv_->CompactRange(VectorPrefix(g->record.uid), VectorPrefix(g->record.uid + 1));
    return absl::OkStatus();
  }

  absl::Status AddImage(const std::string& project_id, const std::string& instance,
                        const AddImageRequest& request) override {
    ASSIGN_OR_RETURN(GalleryPtr g, FindForImages(project_id, instance, request.tags));
    {
      std::shared_lock lock(g->mu);
      if (!g->id_of.count(request.path) &&
          int64_t(g->meta.size()) >=
              std::min(g->record.instance.level, options_.max_images_per_instance)) {
        return Error("IS.1015");
      }
    }
    std::string downloaded;
    std::string_view bytes;
    if (request.file && !request.file->empty()) {
      bytes = *request.file;
    } else {
      ASSIGN_OR_RETURN(downloaded, Download(request.path));
      bytes = downloaded;
    }
    ASSIGN_OR_RETURN(features::Embedding emb,
                     g->embedder->Embed(bytes, {.purpose = features::Purpose::kStore}));
    std::unique_lock lock(g->mu);
    if (g->deleted) return Error("IS.2019", "(instance `" + instance + "` was deleted)");
    ImageRecord rec;
    rec.path = request.path;
    rec.model = g->record.instance.model;
    rec.tags = request.tags;
    rec.vector = std::move(emb.vector);
    rec.updated_ms = NowMs();
    auto existing = g->id_of.find(request.path);
    if (existing != g->id_of.end()) {
      rec.id = existing->second;
      rec.created_ms = g->meta[rec.id].created_ms;
    } else {
      if (int64_t(g->meta.size()) >=
          std::min(g->record.instance.level, options_.max_images_per_instance)) {
        return Error("IS.1015");
      }
      rec.id = g->next_id;
      rec.created_ms = rec.updated_ms;
    }
    if (int(rec.vector.size()) != g->index->dim()) {
      return Error("IS.2100", "(the model returned a vector of the wrong size)");
    }
    rec.version = g->next_version++;
    RETURN_IF_ERROR(
        kv_->Write({{ImageKey(g->record.uid, rec.path), EncodeImage(rec)},
                    {VectorKey(g->record.uid, rec.id), EncodeVector(rec.version, rec.vector)}}));
    if (existing != g->id_of.end()) Detach(*g, rec.id);
    return Attach(*g, rec);
  }

  absl::StatusOr<bool> CheckImage(const std::string& project_id, const std::string& instance,
                                  const std::string& path) override {
    GalleryPtr g = Find(project_id, instance);
    if (!g) return Error("IS.2019", "(instance `" + instance + "`)");
    std::shared_lock lock(g->mu);
    return g->id_of.count(path) > 0;
  }

  absl::Status DeleteImage(const std::string& project_id, const std::string& instance,
                           const std::string& path) override {
    GalleryPtr g = Find(project_id, instance);
    if (!g) return Error("IS.2019", "(instance `" + instance + "`)");
    std::unique_lock lock(g->mu);
    if (g->deleted) return Error("IS.2019", "(instance `" + instance + "` was deleted)");
    auto it = g->id_of.find(path);
    if (it == g->id_of.end()) return Error("IS.2006", "(no image with path `" + path + "`)");
    RETURN_IF_ERROR(kv_->Write({{ImageKey(g->record.uid, path), std::nullopt},
                                {VectorKey(g->record.uid, it->second), std::nullopt}}));
    Detach(*g, it->second);
    return absl::OkStatus();
  }

  absl::Status ModifyImage(const std::string& project_id, const std::string& instance,
                           const std::string& path, const Tags& tags) override {
    GalleryPtr g = Find(project_id, instance);
    if (!g) return Error("IS.2019", "(instance `" + instance + "`)");
    RETURN_IF_ERROR(CheckTagKeys(g->record.instance, tags));
    std::unique_lock lock(g->mu);
    if (g->deleted) return Error("IS.2019", "(instance `" + instance + "` was deleted)");
    auto it = g->id_of.find(path);
    if (it == g->id_of.end()) return Error("IS.2006", "(no image with path `" + path + "`)");
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(ImageKey(g->record.uid, path)));
    if (!bytes) return Error("IS.2104", "(record missing)");
    ASSIGN_OR_RETURN(ImageRecord rec, DecodeImage(path, *bytes));
    rec.tags = tags;
    rec.updated_ms = NowMs();
    RETURN_IF_ERROR(kv_->Put(ImageKey(g->record.uid, path), EncodeImage(rec)));
    ImageMeta& m = g->meta[rec.id];
    g->IndexTags(rec.id, m.tags, false);
    m.tags = tags;
    g->IndexTags(rec.id, m.tags, true);
    return absl::OkStatus();
  }

  absl::StatusOr<SearchResult> Search(const std::string& project_id, const std::string& instance,
                                      const SearchRequest& req) override {
    ASSIGN_OR_RETURN(GalleryPtr g, FindForImages(project_id, instance, req.tags));
    std::vector<std::vector<float>> queries;
    const bool has_file = req.file && !req.file->empty();
    const bool has_path = req.path && !req.path->empty();
    if (has_file) {
      ASSIGN_OR_RETURN(
          features::Embedding emb,
          g->embedder->Embed(*req.file, {.purpose = features::Purpose::kQuery, .box = req.box}));
      queries.push_back(std::move(emb.vector));
      for (auto& v : emb.variants) queries.push_back(std::move(v));
    } else if (has_path) {
      bool stored = false;
      if (!req.box) {
        std::shared_lock lock(g->mu);
        auto it = g->id_of.find(*req.path);
        if (it != g->id_of.end()) {
          ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           kv_->Get(VectorKey(g->record.uid, it->second)));
          if (bytes) {
            uint64_t version = 0;
            std::vector<float> vector;
            RETURN_IF_ERROR(DecodeVector(*bytes, &version, &vector));
            queries.push_back(std::move(vector));
            stored = true;
          }
        }
      }
      if (!stored) {
        ASSIGN_OR_RETURN(std::string bytes, Download(*req.path));
        ASSIGN_OR_RETURN(
            features::Embedding emb,
            g->embedder->Embed(bytes, {.purpose = features::Purpose::kQuery, .box = req.box}));
        queries.push_back(std::move(emb.vector));
        for (auto& v : emb.variants) queries.push_back(std::move(v));
      }
    } else if (req.tags.empty()) {
      return Error("IS.2015");
    }

    std::shared_lock lock(g->mu);
    if (g->deleted) return Error("IS.2019", "(instance `" + instance + "` was deleted)");
    std::optional<Roaring64Map> filter;
    if (!req.tags.empty()) filter = g->Filter(req.tags);
    SearchResult result;
    const size_t want = size_t(req.offset) + size_t(req.limit);
    std::vector<std::pair<uint64_t, float>> ranked;
    if (queries.empty()) {
      // Tags alone: every matching image, ordered by path, sim 1.0.
      std::vector<const ImageMeta*> matches;
      for (uint64_t id : *filter) matches.push_back(&g->meta.at(id));
      std::sort(matches.begin(), matches.end(),
                [](const ImageMeta* a, const ImageMeta* b) { return a->path < b->path; });
      for (size_t i = req.offset; i < matches.size() && i < want; ++i) {
        result.hits.push_back({matches[i]->path, 1.0, matches[i]->tags});
      }
    } else {
      std::unordered_map<uint64_t, float> best;
      for (const auto& q : queries) {
        ASSIGN_OR_RETURN(std::vector<index::Hit> hits,
                         g->index->Search(q, want, filter ? &*filter : nullptr));
        for (const auto& h : hits) {
          auto [it, inserted] = best.emplace(h.id, h.score);
          if (!inserted) it->second = std::max(it->second, h.score);
        }
      }
      ranked.assign(best.begin(), best.end());
      std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
        if (a.second != b.second) return a.second > b.second;
        return g->meta.at(a.first).path < g->meta.at(b.first).path;
      });
      for (size_t i = req.offset; i < ranked.size() && i < want; ++i) {
        const ImageMeta& m = g->meta.at(ranked[i].first);
        double sim = std::clamp(double(ranked[i].second), 0.0, 1.0);
        result.hits.push_back({m.path, sim, m.tags});
      }
    }
    result.count = int64_t(result.hits.size());
    return result;
  }

  absl::StatusOr<IndexInfo> GetIndexInfo(const std::string& project_id,
                                         const std::string& instance) override {
    GalleryPtr g = Find(project_id, instance);
    if (!g) return Error("IS.2019", "(instance `" + instance + "`)");
    std::shared_lock lock(g->mu);
    index::TieredStats st = g->index->Stats();
    IndexInfo info;
    info.tier = st.ann ? "ivf-pq" : "exact";
    info.vectors = int64_t(st.live);
    info.ann_rows = int64_t(st.ann_rows);
    info.buffer_rows = int64_t(st.buffer_rows);
    info.nlist = st.nlist;
    info.ram_bytes = int64_t(st.ram_bytes);
    info.disk_bytes = int64_t(st.disk_bytes);
    info.restored = st.restored;
    info.preloaded_bytes = int64_t(st.preloaded_bytes);
    return info;
  }

  ServiceStats Stats() override {
    std::vector<GalleryPtr> all;
    {
      std::shared_lock lock(mu_);
      for (const auto& [key, g] : galleries_) all.push_back(g);
    }
    ServiceStats s;
    s.instances = int64_t(all.size());
    for (const GalleryPtr& g : all) {
      std::shared_lock lock(g->mu);
      s.images += int64_t(g->meta.size());
      const index::TieredStats st = g->index->Stats();
      s.index_ram_bytes += int64_t(st.ram_bytes);
      s.index_disk_bytes += int64_t(st.disk_bytes);
    }
    return s;
  }

 private:
  static std::string Key(const std::string& project, const std::string& name) {
    return project + "/" + name;
  }

  GalleryPtr Find(const std::string& project, const std::string& name) const {
    std::shared_lock lock(mu_);
    auto it = galleries_.find(Key(project, name));
    return it == galleries_.end() ? nullptr : it->second;
  }

  // The gallery for an add or a search: it exists (IS.2019), its model is installed
  // (IS.0014) and `tags` only uses its tag names (IS.1004).
  absl::StatusOr<GalleryPtr> FindForImages(const std::string& project, const std::string& instance,
                                           const Tags& tags) const {
    GalleryPtr g = Find(project, instance);
    if (!g) return Error("IS.2019", "(instance `" + instance + "`)");
    RETURN_IF_ERROR(CheckUsable(*g));
    RETURN_IF_ERROR(CheckTagKeys(g->record.instance, tags));
    return g;
  }

  static absl::Status CheckUsable(const Gallery& g) {
    if (g.embedder == nullptr) {
      return Error("IS.0014",
                   "(the instance's model `" + g.record.instance.model + "` is not installed)");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Download(const std::string& path) const {
    if (!fetch::Fetcher::LooksLikeUrl(path)) {
      return Error("IS.2015", "(`file` is empty and `path` is not an http(s) URL to download)");
    }
    if (fetcher_ == nullptr) return Error("IS.2011", "(downloads are disabled)");
    return fetcher_->Fetch(path);
  }

  absl::StatusOr<std::unique_ptr<index::TieredIndex>> OpenIndex(
      uint64_t uid, const features::Embedder* embedder) const {
    index::TieredOptions o = options_.index;
    if (embedder == nullptr) {
      o.dir.clear();  // ABNORMAL (model missing): nothing is indexed
    } else if (!options_.index_dir.empty()) {
      char name[24];
      std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(uid));
      o.dir = options_.index_dir + "/" + name;
    }
    return index::TieredIndex::Open(embedder ? embedder->dim() : 1, o);
  }

  // Start-up for one gallery: metadata from the records, then the vectors the
  // index snapshot lacks, then the ids the store no longer has dropped.
  absl::Status LoadImages(Gallery& g) {
    const InstanceRecord& rec = g.record;
    std::vector<ImageRecord> v2;  // format 2: migrated below
    Roaring64Map live, missing;
    absl::Status err;
    RETURN_IF_ERROR(
        kv_->Scan(ImagePrefix(rec.uid), [&](std::string_view key, std::string_view value) {
          auto img = DecodeImage(key.substr(ImagePrefix(rec.uid).size()), value);
          if (!img.ok()) {
            err = img.status();
            return false;
          }
          if (g.embedder == nullptr) return true;
          if (img->model != rec.instance.model) {
            spdlog::error("instance {}/{}: skipping image `{}` of model {}",
                          rec.instance.project_id, rec.instance.name, img->path, img->model);
            return true;
          }
          AttachMeta(g, *img);
          live.add(img->id);
          if (!img->vector.empty()) {
            v2.push_back(std::move(*img));
          } else if (!g.index->HasVersion(img->id, img->version)) {
            missing.add(img->id);
          }
          return true;
        }));
    RETURN_IF_ERROR(err);
    if (g.embedder == nullptr) return absl::OkStatus();
    for (ImageRecord& r : v2) {
      r.version = g.next_version++;
      RETURN_IF_ERROR(kv_->Write({{ImageKey(rec.uid, r.path), EncodeImage(r)},
                                  {VectorKey(rec.uid, r.id), EncodeVector(r.version, r.vector)}}));
      RETURN_IF_ERROR(AttachVector(g, r.id, r.version, r.vector));
    }
    const uint64_t replay = missing.cardinality();
    auto load_one = [&](uint64_t id, std::string_view bytes) -> absl::Status {
      uint64_t version = 0;
      std::vector<float> vector;
      RETURN_IF_ERROR(DecodeVector(bytes, &version, &vector));
      return AttachVector(g, id, version, vector);
    };
    if (replay > 4096) {  // many: one sequential pass over the vectors
      RETURN_IF_ERROR(
          kv_->Scan(VectorPrefix(rec.uid), [&](std::string_view key, std::string_view value) {
            uint64_t id = 0;
            if (ParseVectorKey(key, &id) && missing.contains(id)) {
              err = load_one(id, value);
            }
            return err.ok();
          }));
      RETURN_IF_ERROR(err);
    } else {
      for (uint64_t id : missing) {
        ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(VectorKey(rec.uid, id)));
        if (!bytes) return Error("IS.0009", "(vector record missing for an image)");
        RETURN_IF_ERROR(load_one(id, *bytes));
      }
    }
    const size_t dropped = g.index->RetainOnly(live);
    spdlog::info("instance {}/{}: {} images; index {} ({} replayed, {} dropped)",
                 rec.instance.project_id, rec.instance.name, live.cardinality(),
                 g.index->Stats().restored ? "restored from its snapshot" : "rebuilt",
                 replay + v2.size(), dropped);
    return absl::OkStatus();
  }

  static absl::Status AttachVector(Gallery& g, uint64_t id, uint64_t version,
                                   const std::vector<float>& vector) {
    if (int(vector.size()) != g.index->dim()) {
      spdlog::error("instance {}/{}: image {} has a {}-d vector, the model {}-d; not indexed",
                    g.record.instance.project_id, g.record.instance.name, id, vector.size(),
                    g.index->dim());
      return absl::OkStatus();
    }
    return g.index->Put(id, vector, version);
  }

  // REQUIRES: g.mu held exclusively (or during Load).
  // Vectors of another model or dimension never enter the index (a gallery
  // never mixes models); such a record is refused here and reported by the
  // caller.
  static absl::Status Attach(Gallery& g, const ImageRecord& rec) {
    if (rec.model != g.record.instance.model) {
      return Error("IS.0009", "(image `" + rec.path + "` has vectors of model `" + rec.model +
                                  "`, the instance uses `" + g.record.instance.model + "`)");
    }
    RETURN_IF_ERROR(g.index->Put(rec.id, rec.vector, rec.version));
    AttachMeta(g, rec);
    return absl::OkStatus();
  }

  // REQUIRES: g.mu held exclusively (or during Load).
  static void AttachMeta(Gallery& g, const ImageRecord& rec) {
    g.id_of[rec.path] = rec.id;
    g.meta[rec.id] = ImageMeta{rec.path, rec.tags, rec.created_ms};
    g.IndexTags(rec.id, rec.tags, true);
    g.next_id = std::max(g.next_id, rec.id + 1);
    g.next_version = std::max(g.next_version, rec.version + 1);
  }

  static void Detach(Gallery& g, uint64_t id) {
    auto it = g.meta.find(id);
    if (it == g.meta.end()) return;
    g.IndexTags(id, it->second.tags, false);
    g.id_of.erase(it->second.path);
    g.index->Remove(id);
    g.meta.erase(it);
  }

  ServiceOptions options_;
  store::Kv* kv_;
  const features::ModelRegistry* models_;
  const fetch::Fetcher* fetcher_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, GalleryPtr> galleries_;  // guarded by mu_
  uint64_t next_uid_ = 1;                                  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<Service>> OpenService(const ServiceOptions& options,
                                                     store::Database* db,
                                                     const features::ModelRegistry* models,
                                                     const fetch::Fetcher* fetcher) {
  ASSIGN_OR_RETURN(store::Kv * kv, db->Namespace("catalog"));
  auto service = std::make_unique<ServiceImpl>(options, kv, models, fetcher);
  RETURN_IF_ERROR(service->Load());
  return std::unique_ptr<Service>(std::move(service));
}

}  // namespace iss::core
