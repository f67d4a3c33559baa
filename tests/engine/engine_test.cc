// The engine end to end below HTTP, on its real adapters: the default model from
// ISS_MODEL_DIR, real photos from the shared eval set, a real RocksDB catalog and real
// persisted index shards in a fresh temp dir per test.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "common/status.h"
#include "features/model_config.h"
#include "features/model_registry.h"
#include "features/onnx_embedder.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "store/catalog_codec.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"

namespace iss::engine {
namespace {

const std::string kDev = std::string(ISS_SHARED_DIR) + "/eval/dev";
constexpr char kProject[] = "p1";
constexpr int kOriginals = 8;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Original(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "o_%03d.jpg", i);
  return name;
}

using model::Tags;

// The reason of a failure by name ("" when OK).
std::string Why(const absl::Status& s) {
  return s.ok() ? "" : std::string(ReasonName(ReasonOf(s)));
}

class EngineTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto models = features::OpenModelRegistry(ISS_MODEL_DIR, {});
    ASSERT_TRUE(models.ok()) << models.status();
    models_ = models->release();
  }
  static void TearDownTestSuite() {
    delete models_;
    models_ = nullptr;
  }

  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = testing::TempDir() + "/iss_engine_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }
  void Close() {
    engine_.reset();
    shards_.reset();
    snapshots_.reset();
    executor_.reset();
    catalog_.reset();
    db_.reset();
  }
  void Open(EngineOptions options = {}) {
    Close();
    auto db = store::Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto catalog = store::OpenCatalog(db_.get());
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::move(*catalog);
    executor_ = std::make_unique<Executor>(ExecutorOptions{.threads = 1});
    snapshots_ = std::make_unique<index::LocalSnapshotStore>(dir_ + "/index", Env::Default());
    shards_ = std::make_unique<index::TieredShardFactory>(index::TieredOptions{}, executor_.get(),
                                                          Env::Default(), snapshots_.get());
    EnginePorts ports;
    ports.catalog = catalog_.get();
    ports.index = shards_.get();
    ports.models = models_;
    ports.snapshots = snapshots_.get();
    auto engine = Engine::Open(options, ports);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  void Create(const std::string& name, std::vector<std::string> tags = {"color", "kind"}) {
    model::GallerySpec spec;
    spec.name = name;
    spec.model = "common-search";
    spec.capacity = 30000000;
    spec.tag_keys = std::move(tags);
    auto inst = engine_->CreateGallery(kProject, spec);
    ASSERT_TRUE(inst.ok()) << inst.status();
  }
  absl::Status Add(const std::string& instance, const std::string& path, const std::string& file,
                   Tags tags = {}) {
    model::NewItem item;
    item.key = path;
    item.image = ReadFile(kDev + "/" + file);
    item.tags = std::move(tags);
    return engine_->PutItem(kProject, instance, item);
  }
  // Adds originals 1..kOriginals as "img/o_00N.jpg", tag color = odd|even.
  void AddOriginals(const std::string& instance) {
    for (int i = 1; i <= kOriginals; ++i) {
      ASSERT_TRUE(Add(instance, "img/" + Original(i), "originals/" + Original(i),
                      {{"color", i % 2 ? "odd" : "even"}, {"kind", "photo"}})
                      .ok());
    }
  }
  model::Page Search(const std::string& instance, model::Query q) {
    if (q.limit == 0) q.limit = 10;  // v1's default
    auto r = engine_->Search(kProject, instance, q);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : model::Page{};
  }
  // Searches `instance` with original `i`'s pixels: `n` hits, the first that original
  // stored under "img/", with sim ~1.
  model::Page SearchOriginal(const std::string& instance, int i, size_t n) {
    model::Query req;
    req.image = ReadFile(kDev + "/originals/" + Original(i));
    model::Page r = Search(instance, req);
    EXPECT_EQ(r.hits.size(), n);
    if (r.hits.size() == n && n > 0) {
      EXPECT_EQ(r.hits[0].key, "img/" + Original(i));
      EXPECT_GT(r.hits[0].score, 0.99);
    }
    return r;
  }
  // Queries of the eval set whose original is among the added ones (easy
  // transforms).
  static std::vector<std::pair<std::string, std::string>> Queries() {
    nlohmann::json truth = nlohmann::json::parse(ReadFile(kDev + "/truth.json"), nullptr, false);
    std::vector<std::pair<std::string, std::string>> out;
    if (truth.is_discarded()) return out;
    for (auto& [query, t] : truth.items()) {
      std::string original = t.value("original", "");
      std::string transform = t.value("transform", "");
      if ((transform == "downscale" || transform == "jpeg_quality") &&
          original <= Original(kOriginals)) {
        out.emplace_back(query, original);
      }
    }
    return out;
  }

  static ModelRegistry* models_;
  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<CatalogStore> catalog_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<index::LocalSnapshotStore> snapshots_;
  std::unique_ptr<index::TieredShardFactory> shards_;
  std::unique_ptr<Engine> engine_;
};

ModelRegistry* EngineTest::models_ = nullptr;

TEST_F(EngineTest, InstanceLifecycleAndProjectScope) {
  Create("shoes");
  model::GallerySpec spec;
  spec.name = "shoes";
  spec.model = "common-search";
  EXPECT_EQ(Why(engine_->CreateGallery(kProject, spec).status()), "GalleryExists");
  EXPECT_TRUE(engine_->CreateGallery("p2", spec).ok());  // another project's "shoes"
  spec.name = "other";
  spec.model = "no-such-model";
  EXPECT_EQ(Why(engine_->CreateGallery(kProject, spec).status()), "ModelUnknown");
  auto got = engine_->GetGallery(kProject, "shoes");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->model, "common-search");
  EXPECT_EQ(got->tag_keys, (std::vector<std::string>{"color", "kind"}));
  EXPECT_GT(got->created_ms, 0);
  EXPECT_EQ(Why(engine_->GetGallery(kProject, "nope").status()), "GalleryNotFound");
  EXPECT_EQ(Why(engine_->DeleteGallery(kProject, "nope")), "GalleryNotFound");
  EXPECT_EQ(engine_->ListGalleries(kProject)->size(), 1u);
  EXPECT_EQ(engine_->ListGalleries("p2")->size(), 1u);
  Create("alpha");
  auto listed = engine_->ListGalleries(kProject);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);  // ordered by name
  EXPECT_EQ((*listed)[0].name, "alpha");
  EXPECT_EQ((*listed)[1].name, "shoes");
  ASSERT_TRUE(Add("shoes", "a", "originals/o_001.jpg").ok());
  EXPECT_FALSE(*engine_->HasItem("p2", "shoes",
                                 "a"));  // not visible across projects
  ASSERT_TRUE(engine_->DeleteGallery(kProject, "shoes").ok());
  EXPECT_EQ(Why(engine_->GetGallery(kProject, "shoes").status()), "GalleryNotFound");
  EXPECT_EQ(Why(engine_->HasItem(kProject, "shoes", "a").status()), "GalleryNotFound");
  EXPECT_EQ(Why(Add("shoes", "a", "originals/o_001.jpg")), "GalleryNotFound");
  Open();  // the deletion is durable; the recreated instance starts empty
  EXPECT_EQ(Why(engine_->GetGallery(kProject, "shoes").status()), "GalleryNotFound");
  EXPECT_TRUE(engine_->GetGallery("p2", "shoes").ok());
  Create("shoes");
  EXPECT_FALSE(*engine_->HasItem(kProject, "shoes", "a"));
  EXPECT_EQ(engine_->GetGallery(kProject, "shoes")->item_count, 0);
}

TEST_F(EngineTest, GalleryHoldsAtMostItsCapacity) {
  model::GallerySpec spec;
  spec.name = "small";
  spec.model = "common-search";
  spec.capacity = 2;  // v1's `level`
  ASSERT_TRUE(engine_->CreateGallery(kProject, spec).ok());
  EXPECT_EQ(Why(Add("small", "a", "originals/" + Original(1))), "");
  EXPECT_EQ(Why(Add("small", "b", "originals/" + Original(2))), "");
  EXPECT_EQ(Why(Add("small", "c", "originals/" + Original(3))), "ItemLimit");
  EXPECT_EQ(Why(Add("small", "a", "originals/" + Original(3))), "");  // replacing is allowed
  EXPECT_EQ(engine_->GetGallery(kProject, "small")->item_count, 2);
}

TEST_F(EngineTest, SearchFindsOriginalsFiltersPagesAndSurvivesRestart) {
  Create("g");
  AddOriginals("g");
  EXPECT_EQ(engine_->GetGallery(kProject, "g")->item_count, kOriginals);
  auto queries = Queries();
  ASSERT_GE(queries.size(), 4u);
  std::vector<model::Page> before;
  for (const auto& [query, original] : queries) {
    model::Query req;
    req.image = ReadFile(kDev + "/queries/" + query);
    req.limit = 5;
    model::Page r = Search("g", req);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].key, "img/" + original) << query;
    EXPECT_EQ(r.count, kOriginals);  // every image of the gallery is ranked
    for (size_t i = 0; i < r.hits.size(); ++i) {
      EXPECT_GE(r.hits[i].score, 0.0);
      EXPECT_LE(r.hits[i].score, 1.0);
      if (i > 0) {
        EXPECT_GE(r.hits[i - 1].score, r.hits[i].score);
      }
    }
    before.push_back(r);
  }

  // Search by a stored path: its own vector, so itself first with sim ~1.
  model::Query by_path;
  by_path.key = "img/" + Original(3);
  by_path.limit = 100;
  model::Page self = Search("g", by_path);
  ASSERT_EQ(self.hits.size(), size_t(kOriginals));
  EXPECT_EQ(self.hits[0].key, "img/" + Original(3));
  EXPECT_NEAR(self.hits[0].score, 1.0, 1e-4);

  // Paging: limit/offset windows of the same ranking.
  for (int offset = 0; offset < kOriginals; offset += 3) {
    model::Query page = by_path;
    page.limit = 3;
    page.offset = size_t(offset);
    model::Page p = Search("g", page);
    for (size_t i = 0; i < p.hits.size(); ++i) {
      EXPECT_EQ(p.hits[i].key, self.hits[offset + i].key);
    }
    EXPECT_EQ(p.hits.size(), size_t(std::min(3, kOriginals - offset)));
    EXPECT_EQ(p.count, kOriginals);
  }

  // Tag filter with an image: only odd ones.
  model::Query filtered = by_path;
  filtered.filter = {{"color", "odd"}};
  model::Page odd = Search("g", filtered);
  EXPECT_EQ(odd.hits.size(), size_t((kOriginals + 1) / 2));
  EXPECT_EQ(odd.count, (kOriginals + 1) / 2);  // the images the filter matches
  for (const auto& h : odd.hits) EXPECT_EQ(h.tags.at("color"), "odd");
  // Tags alone: ordered by path, sim 1.
  model::Query tags_only;
  tags_only.filter = {{"color", "even"}, {"kind", "photo"}};
  tags_only.limit = 100;
  model::Page even = Search("g", tags_only);
  ASSERT_EQ(even.hits.size(), size_t(kOriginals / 2));
  for (size_t i = 0; i < even.hits.size(); ++i) {
    EXPECT_EQ(even.hits[i].score, 1.0);
    if (i > 0) {
      EXPECT_LT(even.hits[i - 1].key, even.hits[i].key);
    }
  }
  tags_only.filter = {{"color", "purple"}};
  EXPECT_TRUE(Search("g", tags_only).hits.empty());
  tags_only.filter = {{"size", "xl"}};
  EXPECT_EQ(Why(engine_->Search(kProject, "g", tags_only).status()), "TagUnknown");

  // Restart: identical results.
  Open();
  for (size_t q = 0; q < queries.size(); ++q) {
    model::Query req;
    req.image = ReadFile(kDev + "/queries/" + queries[q].first);
    req.limit = 5;
    model::Page r = Search("g", req);
    ASSERT_EQ(r.hits.size(), before[q].hits.size());
    for (size_t i = 0; i < r.hits.size(); ++i) {
      EXPECT_EQ(r.hits[i].key, before[q].hits[i].key);
      EXPECT_DOUBLE_EQ(r.hits[i].score, before[q].hits[i].score);
      EXPECT_EQ(r.hits[i].tags, before[q].hits[i].tags);
    }
  }
}

TEST_F(EngineTest, DeleteModifyReplaceAndErrors) {
  Create("g");
  AddOriginals("g");
  const std::string gone = "img/" + Original(2);
  EXPECT_TRUE(*engine_->HasItem(kProject, "g", gone));
  ASSERT_TRUE(engine_->RemoveItem(kProject, "g", gone).ok());
  EXPECT_FALSE(*engine_->HasItem(kProject, "g", gone));
  EXPECT_EQ(Why(engine_->RemoveItem(kProject, "g", gone)), "ItemNotFound");
  EXPECT_EQ(Why(engine_->SetItemTags(kProject, "g", gone, {})), "ItemNotFound");
  EXPECT_EQ(Why(engine_->RemoveItem(kProject, "zz", gone)), "GalleryNotFound");

  // Modify tags: the filter follows.
  const std::string changed = "img/" + Original(1);
  ASSERT_TRUE(engine_->SetItemTags(kProject, "g", changed, {{"color", "blue"}}).ok());
  EXPECT_EQ(Why(engine_->SetItemTags(kProject, "g", changed, {{"bad", "x"}})), "TagUnknown");
  EXPECT_EQ(Why(Add("g", "x", "originals/o_001.jpg", {{"bad", "x"}})), "TagUnknown");

  // Replace: re-adding a path swaps its vector and tags (o_004 stored under
  // o_003's path).
  const std::string replaced = "img/" + Original(3);
  ASSERT_TRUE(Add("g", replaced, "originals/" + Original(4), {{"color", "swapped"}}).ok());
  EXPECT_EQ(engine_->GetGallery(kProject, "g")->item_count, kOriginals - 1);

  auto check = [&] {
    model::Query req;
    req.image = ReadFile(kDev + "/originals/" + Original(2));
    req.limit = 100;
    model::Page r = Search("g", req);
    EXPECT_EQ(r.hits.size(), size_t(kOriginals - 1));
    for (const auto& h : r.hits) EXPECT_NE(h.key, gone);
    model::Query blue;
    blue.filter = {{"color", "blue"}};
    model::Page b = Search("g", blue);
    ASSERT_EQ(b.hits.size(), 1u);
    EXPECT_EQ(b.hits[0].key, changed);
    model::Query by_replaced;
    by_replaced.image = ReadFile(kDev + "/originals/" + Original(4));
    by_replaced.limit = 2;
    model::Page s = Search("g", by_replaced);
    ASSERT_EQ(s.hits.size(), 2u);
    // Both paths now hold o_004's vector: a tie at sim ~1, broken by path.
    EXPECT_EQ(s.hits[0].key, "img/" + Original(3));
    EXPECT_EQ(s.hits[1].key, "img/" + Original(4));
    EXPECT_EQ(s.hits[0].tags.at("color"), "swapped");
  };
  check();
  Open();
  check();

  // Unknown instance, damaged image, neither file nor a stored path.
  model::Query empty;
  EXPECT_EQ(Why(engine_->Search(kProject, "zz", empty).status()), "GalleryNotFound");
  EXPECT_EQ(Why(engine_->Search(kProject, "g", empty).status()), "NoQuery");
  model::NewItem bad;
  bad.key = "broken";
  bad.image = std::string("\xff\xd8\xff\xe0 not really a jpeg", 22);
  EXPECT_FALSE(engine_->PutItem(kProject, "g", bad).ok());
  EXPECT_FALSE(*engine_->HasItem(kProject, "g", "broken"));
  model::Query unknown_path;
  unknown_path.key = "not/stored.jpg";
  EXPECT_FALSE(engine_->Search(kProject, "g", unknown_path).ok());
}

TEST_F(EngineTest, FullInstanceRefusesNewPathsButAllowsReplace) {
  EngineOptions options;
  options.max_items_per_gallery = 2;
  Open(options);
  Create("small");
  ASSERT_TRUE(Add("small", "a", "originals/o_001.jpg").ok());
  ASSERT_TRUE(Add("small", "b", "originals/o_002.jpg").ok());
  EXPECT_EQ(Why(Add("small", "c", "originals/o_003.jpg")), "ItemLimit");
  EXPECT_TRUE(Add("small", "a", "originals/o_003.jpg").ok());
  ASSERT_TRUE(engine_->RemoveItem(kProject, "small", "b").ok());
  EXPECT_TRUE(Add("small", "c", "originals/o_003.jpg").ok());
}

// Searches (shared lock) run while one writer deletes and re-adds images of the
// same instance (exclusive lock): every search succeeds with a sorted,
// duplicate-free page, and at the end exactly the surviving images are found.
TEST_F(EngineTest, SearchesRunDuringWrites) {
  Create("g");
  AddOriginals("g");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      model::Query req;
      req.key = "img/" + Original(1);  // never deleted: searched by its stored vector
      req.limit = 100;
      while (!stop) {
        auto r = engine_->Search(kProject, "g", req);
        ++searches;
        if (!r.ok() || r->hits.empty() || r->hits[0].key != *req.key) {
          ++failures;
          continue;
        }
        std::set<std::string> seen;
        for (size_t i = 0; i < r->hits.size(); ++i) {
          if (!seen.insert(r->hits[i].key).second) ++failures;
          if (i > 0 && r->hits[i - 1].score < r->hits[i].score) ++failures;
        }
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 2; i <= kOriginals; ++i) {
      const std::string path = "img/" + Original(i);
      if ((i + round) % 2) {
        EXPECT_TRUE(engine_->RemoveItem(kProject, "g", path).ok() ||
                    !*engine_->HasItem(kProject, "g", path));
      } else {
        EXPECT_TRUE(Add("g", path, "originals/" + Original(i)).ok());
      }
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(searches.load(), 0);
  // The last round (2) deleted odd i and re-added even i.
  std::set<std::string> expected = {"img/" + Original(1)};
  for (int i = 2; i <= kOriginals; ++i) {
    if ((i + 2) % 2 == 0) expected.insert("img/" + Original(i));
  }
  model::Query req;
  req.key = "img/" + Original(1);
  req.limit = 100;
  model::Page r = Search("g", req);
  std::set<std::string> got;
  for (const auto& h : r.hits) got.insert(h.key);
  EXPECT_EQ(got, expected);
  Open();
  r = Search("g", req);
  got.clear();
  for (const auto& h : r.hits) got.insert(h.key);
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace iss::engine

namespace iss::engine {
namespace {

// Records written before issue 5 (format 2: vector inline, no version) are
// rewritten as format 3 (+ a vec/ key) at start-up and stay searchable.
TEST_F(EngineTest, FormatTwoRecordsAreMigratedAtStartUp) {
  Create("old");
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Add("old", "img/" + Original(i), "originals/" + Original(i)).ok());
  }
  auto kv = db_->Namespace("catalog");
  ASSERT_TRUE(kv.ok());
  const uint64_t uid = 1;  // the first instance
  for (int i = 1; i <= 3; ++i) {
    const std::string key = store::ItemKey(uid, "img/" + Original(i));
    auto bytes = (*kv)->Get(key);
    ASSERT_TRUE(bytes.ok() && bytes->has_value());
    auto rec = store::DecodeItem("img/" + Original(i), **bytes);
    ASSERT_TRUE(rec.ok());
    auto vbytes = (*kv)->Get(store::VectorKey(uid, rec->id));
    ASSERT_TRUE(vbytes.ok() && vbytes->has_value());
    auto stored = store::DecodeVector(**vbytes);
    ASSERT_TRUE(stored.ok());
    const std::vector<float>& vec = stored->vector;
    EXPECT_EQ(stored->version, rec->version);
    // Format 2, byte by byte.
    std::string v2(1, char(2));
    auto put = [&](const void* p, size_t n) { v2.append(static_cast<const char*>(p), n); };
    auto put_string = [&](const std::string& s) {
      uint32_t n = uint32_t(s.size());
      put(&n, 4);
      v2 += s;
    };
    put(&rec->id, 8);
    put(&rec->created_ms, 8);
    put(&rec->updated_ms, 8);
    put_string(rec->model);
    put_string("{}");
    uint32_t dim = uint32_t(vec.size());
    put(&dim, 4);
    put(vec.data(), vec.size() * 4);
    ASSERT_TRUE((*kv)->Write({{key, v2}, {store::VectorKey(uid, rec->id), std::nullopt}}).ok());
  }
  Open();
  SearchOriginal("old", 2, 3);
  kv = db_->Namespace("catalog");
  for (int i = 1; i <= 3; ++i) {
    auto bytes = (*kv)->Get(store::ItemKey(uid, "img/" + Original(i)));
    auto rec = store::DecodeItem("img/" + Original(i), **bytes);
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE(rec->legacy_vector.empty());  // format 3 again
    EXPECT_GT(rec->version, 0u);
    auto vbytes = (*kv)->Get(store::VectorKey(uid, rec->id));
    ASSERT_TRUE(vbytes.ok() && vbytes->has_value());
  }
}

TEST_F(EngineTest, VectorsOfTheUncalibratedModelAreUpgradedAtStartUp) {
  // An instance made before common-search had its whitening: its items record the model
  // `common-search` and hold the network's uncalibrated vectors.
  auto config = features::LoadModelConfig(std::string(ISS_MODEL_DIR) + "/common-search.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  config->whitening_path.clear();
  auto raw = features::OnnxEmbedder::Create(*config, 1);
  ASSERT_TRUE(raw.ok()) << raw.status();
  const Embedder* current = models_->Find("common-search");
  ASSERT_NE(current, nullptr);
  ASSERT_NE(current->vector_model(), "common-search");
  Create("old");
  const uint64_t uid = 1;  // the first instance
  std::map<std::string, uint64_t> old_version;
  for (int i = 1; i <= 4; ++i) {
    const std::string key = "img/" + Original(i);
    ASSERT_TRUE(Add("old", key, "originals/" + Original(i)).ok());
    auto rec = catalog_->GetItem(uid, key);
    ASSERT_TRUE(rec.ok() && rec->has_value());
    EXPECT_EQ((*rec)->model, current->vector_model());
    old_version[key] = (*rec)->version;
    if (i == 4) continue;  // one image already of the current revision (an interrupted upgrade)
    auto v = (*raw)->Embed(ReadFile(kDev + "/originals/" + Original(i)), {});
    ASSERT_TRUE(v.ok());
    ItemRecord old = **rec;
    old.model = "common-search";
    CatalogBatch batch;
    batch.puts.push_back(ItemWrite{old, v->vector, {}});
    ASSERT_TRUE(catalog_->Apply(uid, batch).ok());
  }
  Open();
  model::Page r = SearchOriginal("old", 2, 4);
  // Calibrated scores: the other photos are strangers (uncalibrated they scored > 0.85).
  for (size_t i = 1; i < r.hits.size(); ++i) EXPECT_LT(r.hits[i].score, 0.86) << i;
  std::map<std::string, uint64_t> new_version;
  for (int i = 1; i <= 4; ++i) {
    const std::string key = "img/" + Original(i);
    auto rec = catalog_->GetItem(uid, key);
    ASSERT_TRUE(rec.ok() && rec->has_value());
    EXPECT_EQ((*rec)->model, current->vector_model());
    if (i == 4) {
      EXPECT_EQ((*rec)->version, old_version[key]);
    } else {
      EXPECT_GT((*rec)->version, old_version[key]);
    }
    new_version[key] = (*rec)->version;
    auto stored = catalog_->GetVector(uid, (*rec)->id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    auto want = current->Embed(ReadFile(kDev + "/originals/" + Original(i)), {});
    ASSERT_TRUE(want.ok());
    ASSERT_EQ((*stored)->vector.size(), want->vector.size());
    float max_diff = 0;
    for (size_t j = 0; j < want->vector.size(); ++j) {
      max_diff = std::max(max_diff, std::fabs((*stored)->vector[j] - want->vector[j]));
    }
    EXPECT_LT(max_diff, 1e-4) << key;
  }
  Open();  // once: a second start finds nothing to upgrade
  for (int i = 1; i <= 4; ++i) {
    const std::string key = "img/" + Original(i);
    auto rec = catalog_->GetItem(uid, key);
    ASSERT_TRUE(rec.ok() && rec->has_value());
    EXPECT_EQ((*rec)->version, new_version[key]);
  }
  SearchOriginal("old", 2, 4);
}

}  // namespace
}  // namespace iss::engine
