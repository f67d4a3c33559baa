// core::Service end to end below HTTP: the real default model from
// ISS_MODEL_DIR, real photos from the shared eval set, a real RocksDB in a
// fresh temp dir per test.
#include "core/service.h"

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

#include "common/error.h"
#include "core/catalog.h"
#include "features/embedder.h"
#include "store/kv.h"

namespace iss::core {
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

class ServiceTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto models = features::ModelRegistry::Open(ISS_MODEL_DIR, {});
    ASSERT_TRUE(models.ok()) << models.status();
    models_ = models->release();
  }
  static void TearDownTestSuite() {
    delete models_;
    models_ = nullptr;
  }

  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = testing::TempDir() + "/iss_core_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    service_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(ServiceOptions options = {}) {
    service_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_ + "/db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto service = OpenService(options, db_.get(), models_, nullptr);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }
  void Create(const std::string& name, std::vector<std::string> tags = {"color", "kind"}) {
    InstanceSpec spec;
    spec.name = name;
    spec.model = "common-search";
    spec.tags = std::move(tags);
    auto inst = service_->CreateInstance(kProject, spec);
    ASSERT_TRUE(inst.ok()) << inst.status();
  }
  absl::Status Add(const std::string& instance, const std::string& path, const std::string& file,
                   Tags tags = {}) {
    AddImageRequest req;
    req.path = path;
    req.file = ReadFile(kDev + "/" + file);
    req.tags = std::move(tags);
    return service_->AddImage(kProject, instance, req);
  }
  // Adds originals 1..kOriginals as "img/o_00N.jpg", tag color = odd|even.
  void AddOriginals(const std::string& instance) {
    for (int i = 1; i <= kOriginals; ++i) {
      ASSERT_TRUE(Add(instance, "img/" + Original(i), "originals/" + Original(i),
                      {{"color", i % 2 ? "odd" : "even"}, {"kind", "photo"}})
                      .ok());
    }
  }
  SearchResult Search(const std::string& instance, SearchRequest req) {
    auto r = service_->Search(kProject, instance, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SearchResult{};
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

  static features::ModelRegistry* models_;
  std::string dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Service> service_;
};

features::ModelRegistry* ServiceTest::models_ = nullptr;

TEST_F(ServiceTest, InstanceLifecycleAndProjectScope) {
  Create("shoes");
  InstanceSpec spec;
  spec.name = "shoes";
  spec.model = "common-search";
  EXPECT_EQ(ApiCode(service_->CreateInstance(kProject, spec).status()), "IS.3000");
  EXPECT_TRUE(service_->CreateInstance("p2", spec).ok());  // another project's "shoes"
  spec.name = "other";
  spec.model = "no-such-model";
  EXPECT_EQ(ApiCode(service_->CreateInstance(kProject, spec).status()), "IS.3014");
  auto got = service_->GetInstance(kProject, "shoes");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->model, "common-search");
  EXPECT_EQ(got->tags, (std::vector<std::string>{"color", "kind"}));
  EXPECT_GT(got->register_date_ms, 0);
  EXPECT_EQ(ApiCode(service_->GetInstance(kProject, "nope").status()), "IS.4004");
  EXPECT_EQ(ApiCode(service_->DeleteInstance(kProject, "nope")), "IS.4004");
  EXPECT_EQ(service_->ListInstances(kProject)->size(), 1u);
  EXPECT_EQ(service_->ListInstances("p2")->size(), 1u);
  Create("alpha");
  auto listed = service_->ListInstances(kProject);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);  // ordered by name
  EXPECT_EQ((*listed)[0].name, "alpha");
  EXPECT_EQ((*listed)[1].name, "shoes");
  ASSERT_TRUE(Add("shoes", "a", "originals/o_001.jpg").ok());
  EXPECT_FALSE(*service_->CheckImage("p2", "shoes",
                                     "a"));  // not visible across projects
  ASSERT_TRUE(service_->DeleteInstance(kProject, "shoes").ok());
  EXPECT_EQ(ApiCode(service_->GetInstance(kProject, "shoes").status()), "IS.4004");
  EXPECT_EQ(ApiCode(service_->CheckImage(kProject, "shoes", "a").status()), "IS.2019");
  EXPECT_EQ(ApiCode(Add("shoes", "a", "originals/o_001.jpg")), "IS.2019");
  Open();  // the deletion is durable; the recreated instance starts empty
  EXPECT_EQ(ApiCode(service_->GetInstance(kProject, "shoes").status()), "IS.4004");
  EXPECT_TRUE(service_->GetInstance("p2", "shoes").ok());
  Create("shoes");
  EXPECT_FALSE(*service_->CheckImage(kProject, "shoes", "a"));
  EXPECT_EQ(service_->GetInstance(kProject, "shoes")->image_count, 0);
}

TEST_F(ServiceTest, SearchFindsOriginalsFiltersPagesAndSurvivesRestart) {
  Create("g");
  AddOriginals("g");
  EXPECT_EQ(service_->GetInstance(kProject, "g")->image_count, kOriginals);
  auto queries = Queries();
  ASSERT_GE(queries.size(), 4u);
  std::vector<SearchResult> before;
  for (const auto& [query, original] : queries) {
    SearchRequest req;
    req.file = ReadFile(kDev + "/queries/" + query);
    req.limit = 5;
    SearchResult r = Search("g", req);
    ASSERT_FALSE(r.hits.empty());
    EXPECT_EQ(r.hits[0].path, "img/" + original) << query;
    EXPECT_EQ(r.count, int64_t(r.hits.size()));
    for (size_t i = 0; i < r.hits.size(); ++i) {
      EXPECT_GE(r.hits[i].sim, 0.0);
      EXPECT_LE(r.hits[i].sim, 1.0);
      if (i > 0) {
        EXPECT_GE(r.hits[i - 1].sim, r.hits[i].sim);
      }
    }
    before.push_back(r);
  }

  // Search by a stored path: its own vector, so itself first with sim ~1.
  SearchRequest by_path;
  by_path.path = "img/" + Original(3);
  by_path.limit = 100;
  SearchResult self = Search("g", by_path);
  ASSERT_EQ(self.hits.size(), size_t(kOriginals));
  EXPECT_EQ(self.hits[0].path, "img/" + Original(3));
  EXPECT_NEAR(self.hits[0].sim, 1.0, 1e-4);

  // Paging: limit/offset windows of the same ranking.
  for (int offset = 0; offset < kOriginals; offset += 3) {
    SearchRequest page = by_path;
    page.limit = 3;
    page.offset = offset;
    SearchResult p = Search("g", page);
    for (size_t i = 0; i < p.hits.size(); ++i) {
      EXPECT_EQ(p.hits[i].path, self.hits[offset + i].path);
    }
    EXPECT_EQ(p.count, int64_t(std::min(3, kOriginals - offset)));
  }

  // Tag filter with an image: only odd ones.
  SearchRequest filtered = by_path;
  filtered.tags = {{"color", "odd"}};
  SearchResult odd = Search("g", filtered);
  EXPECT_EQ(odd.hits.size(), size_t((kOriginals + 1) / 2));
  for (const auto& h : odd.hits) EXPECT_EQ(h.tags.at("color"), "odd");
  // Tags alone: ordered by path, sim 1.
  SearchRequest tags_only;
  tags_only.tags = {{"color", "even"}, {"kind", "photo"}};
  tags_only.limit = 100;
  SearchResult even = Search("g", tags_only);
  ASSERT_EQ(even.hits.size(), size_t(kOriginals / 2));
  for (size_t i = 0; i < even.hits.size(); ++i) {
    EXPECT_EQ(even.hits[i].sim, 1.0);
    if (i > 0) {
      EXPECT_LT(even.hits[i - 1].path, even.hits[i].path);
    }
  }
  tags_only.tags = {{"color", "purple"}};
  EXPECT_TRUE(Search("g", tags_only).hits.empty());
  tags_only.tags = {{"size", "xl"}};
  EXPECT_EQ(ApiCode(service_->Search(kProject, "g", tags_only).status()), "IS.1004");

  // Restart: identical results.
  Open();
  for (size_t q = 0; q < queries.size(); ++q) {
    SearchRequest req;
    req.file = ReadFile(kDev + "/queries/" + queries[q].first);
    req.limit = 5;
    SearchResult r = Search("g", req);
    ASSERT_EQ(r.hits.size(), before[q].hits.size());
    for (size_t i = 0; i < r.hits.size(); ++i) {
      EXPECT_EQ(r.hits[i].path, before[q].hits[i].path);
      EXPECT_DOUBLE_EQ(r.hits[i].sim, before[q].hits[i].sim);
      EXPECT_EQ(r.hits[i].tags, before[q].hits[i].tags);
    }
  }
}

TEST_F(ServiceTest, DeleteModifyReplaceAndErrors) {
  Create("g");
  AddOriginals("g");
  const std::string gone = "img/" + Original(2);
  EXPECT_TRUE(*service_->CheckImage(kProject, "g", gone));
  ASSERT_TRUE(service_->DeleteImage(kProject, "g", gone).ok());
  EXPECT_FALSE(*service_->CheckImage(kProject, "g", gone));
  EXPECT_EQ(ApiCode(service_->DeleteImage(kProject, "g", gone)), "IS.2006");
  EXPECT_EQ(ApiCode(service_->ModifyImage(kProject, "g", gone, {})), "IS.2006");
  EXPECT_EQ(ApiCode(service_->DeleteImage(kProject, "zz", gone)), "IS.2019");

  // Modify tags: the filter follows.
  const std::string changed = "img/" + Original(1);
  ASSERT_TRUE(service_->ModifyImage(kProject, "g", changed, {{"color", "blue"}}).ok());
  EXPECT_EQ(ApiCode(service_->ModifyImage(kProject, "g", changed, {{"bad", "x"}})), "IS.1004");
  EXPECT_EQ(ApiCode(Add("g", "x", "originals/o_001.jpg", {{"bad", "x"}})), "IS.1004");

  // Replace: re-adding a path swaps its vector and tags (o_004 stored under
  // o_003's path).
  const std::string replaced = "img/" + Original(3);
  ASSERT_TRUE(Add("g", replaced, "originals/" + Original(4), {{"color", "swapped"}}).ok());
  EXPECT_EQ(service_->GetInstance(kProject, "g")->image_count, kOriginals - 1);

  auto check = [&] {
    SearchRequest req;
    req.file = ReadFile(kDev + "/originals/" + Original(2));
    req.limit = 100;
    SearchResult r = Search("g", req);
    EXPECT_EQ(r.hits.size(), size_t(kOriginals - 1));
    for (const auto& h : r.hits) EXPECT_NE(h.path, gone);
    SearchRequest blue;
    blue.tags = {{"color", "blue"}};
    SearchResult b = Search("g", blue);
    ASSERT_EQ(b.hits.size(), 1u);
    EXPECT_EQ(b.hits[0].path, changed);
    SearchRequest by_replaced;
    by_replaced.file = ReadFile(kDev + "/originals/" + Original(4));
    by_replaced.limit = 2;
    SearchResult s = Search("g", by_replaced);
    ASSERT_EQ(s.hits.size(), 2u);
    // Both paths now hold o_004's vector: a tie at sim ~1, broken by path.
    EXPECT_EQ(s.hits[0].path, "img/" + Original(3));
    EXPECT_EQ(s.hits[1].path, "img/" + Original(4));
    EXPECT_EQ(s.hits[0].tags.at("color"), "swapped");
  };
  check();
  Open();
  check();

  // Unknown instance, damaged image, neither file nor a stored path.
  SearchRequest empty;
  EXPECT_EQ(ApiCode(service_->Search(kProject, "zz", empty).status()), "IS.2019");
  EXPECT_EQ(ApiCode(service_->Search(kProject, "g", empty).status()), "IS.2015");
  AddImageRequest bad;
  bad.path = "broken";
  bad.file = std::string("\xff\xd8\xff\xe0 not really a jpeg", 22);
  EXPECT_FALSE(service_->AddImage(kProject, "g", bad).ok());
  EXPECT_FALSE(*service_->CheckImage(kProject, "g", "broken"));
  SearchRequest unknown_path;
  unknown_path.path = "not/stored.jpg";
  EXPECT_FALSE(service_->Search(kProject, "g", unknown_path).ok());
}

TEST_F(ServiceTest, FullInstanceRefusesNewPathsButAllowsReplace) {
  ServiceOptions options;
  options.max_images_per_instance = 2;
  Open(options);
  Create("small");
  ASSERT_TRUE(Add("small", "a", "originals/o_001.jpg").ok());
  ASSERT_TRUE(Add("small", "b", "originals/o_002.jpg").ok());
  EXPECT_EQ(ApiCode(Add("small", "c", "originals/o_003.jpg")), "IS.1015");
  EXPECT_TRUE(Add("small", "a", "originals/o_003.jpg").ok());
  ASSERT_TRUE(service_->DeleteImage(kProject, "small", "b").ok());
  EXPECT_TRUE(Add("small", "c", "originals/o_003.jpg").ok());
}

// Searches (shared lock) run while one writer deletes and re-adds images of the
// same instance (exclusive lock): every search succeeds with a sorted,
// duplicate-free page, and at the end exactly the surviving images are found.
TEST_F(ServiceTest, SearchesRunDuringWrites) {
  Create("g");
  AddOriginals("g");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      SearchRequest req;
      req.path = "img/" + Original(1);  // never deleted: searched by its stored vector
      req.limit = 100;
      while (!stop) {
        auto r = service_->Search(kProject, "g", req);
        ++searches;
        if (!r.ok() || r->hits.empty() || r->hits[0].path != *req.path) {
          ++failures;
          continue;
        }
        std::set<std::string> seen;
        for (size_t i = 0; i < r->hits.size(); ++i) {
          if (!seen.insert(r->hits[i].path).second) ++failures;
          if (i > 0 && r->hits[i - 1].sim < r->hits[i].sim) ++failures;
        }
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 2; i <= kOriginals; ++i) {
      const std::string path = "img/" + Original(i);
      if ((i + round) % 2) {
        EXPECT_TRUE(service_->DeleteImage(kProject, "g", path).ok() ||
                    !*service_->CheckImage(kProject, "g", path));
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
  SearchRequest req;
  req.path = "img/" + Original(1);
  req.limit = 100;
  SearchResult r = Search("g", req);
  std::set<std::string> got;
  for (const auto& h : r.hits) got.insert(h.path);
  EXPECT_EQ(got, expected);
  Open();
  r = Search("g", req);
  got.clear();
  for (const auto& h : r.hits) got.insert(h.path);
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace iss::core

namespace iss::core {
namespace {

// Records written before issue 5 (format 2: vector inline, no version) are
// rewritten as format 3 (+ a vec/ key) at start-up and stay searchable.
TEST_F(ServiceTest, FormatTwoRecordsAreMigratedAtStartUp) {
  Create("old");
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Add("old", "img/" + Original(i), "originals/" + Original(i)).ok());
  }
  auto kv = db_->Namespace("catalog");
  ASSERT_TRUE(kv.ok());
  const uint64_t uid = 1;  // the first instance
  for (int i = 1; i <= 3; ++i) {
    const std::string key = ImageKey(uid, "img/" + Original(i));
    auto bytes = (*kv)->Get(key);
    ASSERT_TRUE(bytes.ok() && bytes->has_value());
    auto rec = DecodeImage("img/" + Original(i), **bytes);
    ASSERT_TRUE(rec.ok());
    auto vbytes = (*kv)->Get(VectorKey(uid, rec->id));
    ASSERT_TRUE(vbytes.ok() && vbytes->has_value());
    uint64_t version = 0;
    std::vector<float> vec;
    ASSERT_TRUE(DecodeVector(**vbytes, &version, &vec).ok());
    EXPECT_EQ(version, rec->version);
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
    ASSERT_TRUE((*kv)->Write({{key, v2}, {VectorKey(uid, rec->id), std::nullopt}}).ok());
  }
  Open();
  SearchRequest req;
  req.file = ReadFile(kDev + "/originals/" + Original(2));
  SearchResult r = Search("old", req);
  ASSERT_EQ(r.hits.size(), 3u);
  EXPECT_EQ(r.hits[0].path, "img/" + Original(2));
  EXPECT_GT(r.hits[0].sim, 0.99);
  kv = db_->Namespace("catalog");
  for (int i = 1; i <= 3; ++i) {
    auto bytes = (*kv)->Get(ImageKey(uid, "img/" + Original(i)));
    auto rec = DecodeImage("img/" + Original(i), **bytes);
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE(rec->vector.empty());  // format 3 again
    EXPECT_GT(rec->version, 0u);
    auto vbytes = (*kv)->Get(VectorKey(uid, rec->id));
    ASSERT_TRUE(vbytes.ok() && vbytes->has_value());
  }
}

}  // namespace
}  // namespace iss::core
