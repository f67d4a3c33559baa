// store::RocksCatalog on a real RocksDB: every record type round-trips, data in the old
// format reads, batches are atomic (an injected ENOSPC changes nothing), scans run in key
// order and stop on request, and a deleted gallery's space comes back.
#include "store/rocks_catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/catalog_codec.h"
#include "store/rocks_testing.h"
#include "store_test_util.h"
#include "testing/rocks/fault_injection_fs.h"

namespace iss::store {
namespace {

using testutil::FromHex;

engine::GalleryRecord Gallery(uint64_t uid, const std::string& project, const std::string& name) {
  engine::GalleryRecord r;
  r.uid = uid;
  r.gallery.project_id = project;
  r.gallery.name = name;
  r.gallery.model = "common-search";
  r.gallery.model_display_name = "Common search";
  r.gallery.description = "d-" + name;
  r.gallery.capacity = 1000 + int64_t(uid);
  r.gallery.tag_keys = {"color"};
  r.gallery.created_ms = 1700000000000 + int64_t(uid);
  return r;
}

engine::ItemWrite Item(const std::string& key, uint64_t id, uint64_t version,
                       std::vector<float> vector = {1, 2, 3}) {
  engine::ItemWrite w;
  w.record.key = key;
  w.record.id = id;
  w.record.created_ms = 10 + int64_t(id);
  w.record.updated_ms = 20 + int64_t(id);
  w.record.model = "common-search";
  w.record.tags = {{"color", "c" + std::to_string(id)}};
  w.record.version = version;
  w.vector = std::move(vector);
  return w;
}

class RocksCatalogTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::FreshDir(testutil::CurrentTestName()) + "/db";
    Reopen();
  }
  void TearDown() override {
    catalog_.reset();
    db_.reset();
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  void Reopen(std::shared_ptr<rocksdb::FileSystem> fs = nullptr) {
    catalog_.reset();
    db_.reset();
    auto db = fs ? OpenDatabaseForTest(dir_, {}, fs) : Database::Open(dir_, {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto kv = db_->Namespace(kCatalogNamespace);
    ASSERT_TRUE(kv.ok()) << kv.status();
    kv_ = *kv;
    auto catalog = OpenCatalog(db_.get());
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
  }
  void Apply(uint64_t uid, const engine::CatalogBatch& batch) {
    absl::Status s = catalog_->Apply(uid, batch);
    ASSERT_TRUE(s.ok()) << s;
  }
  std::vector<engine::ItemRecord> Items(uint64_t uid) {
    std::vector<engine::ItemRecord> out;
    absl::Status s = catalog_->ScanItems(uid, [&](engine::ItemRecord&& r) {
      out.push_back(std::move(r));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  std::vector<std::pair<uint64_t, engine::CatalogStore::StoredVector>> Vectors(uint64_t uid) {
    std::vector<std::pair<uint64_t, engine::CatalogStore::StoredVector>> out;
    absl::Status s =
        catalog_->ScanVectors(uid, [&](uint64_t id, engine::CatalogStore::StoredVector&& v) {
          out.emplace_back(id, std::move(v));
          return true;
        });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
  Kv* kv_ = nullptr;
  std::unique_ptr<engine::CatalogStore> catalog_;
};

TEST_F(RocksCatalogTest, NewDatabaseIsEmptyAndStartsAtUid1) {
  EXPECT_EQ(*catalog_->NextGalleryUid(), 1u);
  EXPECT_TRUE(catalog_->LoadGalleries()->empty());
  EXPECT_TRUE(Items(1).empty());
  EXPECT_FALSE(catalog_->GetItem(1, "x")->has_value());
  EXPECT_FALSE(catalog_->GetVector(1, 1)->has_value());
}

TEST_F(RocksCatalogTest, GalleriesRoundTripInKeyOrderAndSurviveReopen) {
  ASSERT_TRUE(catalog_->CreateGallery(Gallery(1, "p2", "b")).ok());
  ASSERT_TRUE(catalog_->CreateGallery(Gallery(2, "p1", "z")).ok());
  engine::GalleryRecord abnormal = Gallery(3, "p1", "a");
  abnormal.gallery.state = model::GalleryState::kAbnormal;
  ASSERT_TRUE(catalog_->CreateGallery(abnormal).ok());
  EXPECT_EQ(*catalog_->NextGalleryUid(), 4u);
  // On disk: the old keys and encodings.
  EXPECT_EQ(**kv_->Get("inst/p2/b"), EncodeGallery(Gallery(1, "p2", "b")));
  EXPECT_EQ(**kv_->Get("seq/instance"), "4");
  Reopen();
  auto loaded = catalog_->LoadGalleries();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[0].gallery.name, "a");  // inst/p1/a, inst/p1/z, inst/p2/b
  EXPECT_EQ((*loaded)[0].gallery.state, model::GalleryState::kAbnormal);
  EXPECT_EQ((*loaded)[1].gallery.name, "z");
  EXPECT_EQ((*loaded)[2].uid, 1u);
  EXPECT_EQ((*loaded)[2].gallery.project_id, "p2");
  EXPECT_EQ((*loaded)[2].gallery.description, "d-b");
  EXPECT_EQ((*loaded)[2].gallery.capacity, 1001);
  EXPECT_EQ((*loaded)[2].gallery.tag_keys, std::vector<std::string>{"color"});
  EXPECT_EQ((*loaded)[2].gallery.created_ms, 1700000000001);
  EXPECT_EQ((*loaded)[2].gallery.expires_ms, -1);
  EXPECT_EQ(*catalog_->NextGalleryUid(), 4u);
}

TEST_F(RocksCatalogTest, UidCounterNeverGoesBack) {
  ASSERT_TRUE(catalog_->CreateGallery(Gallery(5, "p", "five")).ok());
  EXPECT_EQ(*catalog_->NextGalleryUid(), 6u);
  ASSERT_TRUE(catalog_->CreateGallery(Gallery(3, "p", "three")).ok());
  EXPECT_EQ(*catalog_->NextGalleryUid(), 6u);
  absl::Status zero = catalog_->CreateGallery(Gallery(0, "p", "zero"));
  EXPECT_EQ(ReasonOf(zero), Reason::kInvalidArgument) << zero;
  EXPECT_EQ(catalog_->LoadGalleries()->size(), 2u);
}

TEST_F(RocksCatalogTest, ConcurrentCreatesLeaveTheCounterPastTheLargestUid) {
  std::vector<std::thread> threads;
  for (uint64_t uid = 1; uid <= 8; ++uid) {
    threads.emplace_back([this, uid] {
      EXPECT_TRUE(catalog_->CreateGallery(Gallery(uid, "p", "g" + std::to_string(uid))).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*catalog_->NextGalleryUid(), 9u);
  EXPECT_EQ(catalog_->LoadGalleries()->size(), 8u);
}

TEST_F(RocksCatalogTest, ReadsWhatTheOldCodecWrote) {
  // Bytes as src/core wrote them (catalog_codec_test.cc has their provenance).
  ASSERT_TRUE(kv_->Put("inst/p1/shoes",
                       R"({"description":"","domain":"common-search","expired_date_ms":-1,)"
                       R"("level":30000000,"model":"common-search","name":"shoes",)"
                       R"("project_id":"p1","register_date_ms":5,"status":"NORMAL",)"
                       R"("tags":["color"],"uid":7})")
                  .ok());
  ASSERT_TRUE(kv_->Put("seq/instance", "8").ok());
  ASSERT_TRUE(kv_->Put("img/0000000000000007/a/b.jpg",
                       FromHex("03 2a00000000000000 0168e5cf8b010000 0268e5cf8b010000"
                               " 0d000000 636f6d6d6f6e2d736561726368"
                               " 1a000000 7b22636f6c6f72223a22726564222c2273697a65223a2239227d"
                               " 0500000000000000"))
                  .ok());
  ASSERT_TRUE(kv_->Put("vec/0000000000000007/000000000000002a",
                       FromHex("0500000000000000 0000803f 000020c0 0000803e"))
                  .ok());
  ASSERT_TRUE(kv_->Put("img/0000000000000007/x.jpg",
                       FromHex("02 0300000000000000 0b00000000000000 0c00000000000000"
                               " 0d000000 636f6d6d6f6e2d736561726368"
                               " 10000000 7b22636f6c6f72223a22626c7565227d"
                               " 02000000 0000003f 000080bf"))
                  .ok());
  Reopen();
  auto galleries = catalog_->LoadGalleries();
  ASSERT_TRUE(galleries.ok()) << galleries.status();
  ASSERT_EQ(galleries->size(), 1u);
  EXPECT_EQ((*galleries)[0].uid, 7u);
  EXPECT_EQ((*galleries)[0].gallery.tag_keys, std::vector<std::string>{"color"});
  EXPECT_EQ(*catalog_->NextGalleryUid(), 8u);
  auto items = Items(7);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "a/b.jpg");
  EXPECT_EQ(items[0].id, 42u);
  EXPECT_EQ(items[0].version, 5u);
  EXPECT_EQ(items[0].tags, (model::Tags{{"color", "red"}, {"size", "9"}}));
  EXPECT_TRUE(items[0].legacy_vector.empty());
  EXPECT_EQ(items[1].key, "x.jpg");  // format 2: the vector inline, no version
  EXPECT_EQ(items[1].version, 0u);
  EXPECT_EQ(items[1].legacy_vector, (std::vector<float>{0.5f, -1.0f}));
  auto v = catalog_->GetVector(7, 42);
  ASSERT_TRUE(v.ok() && v->has_value()) << v.status();
  EXPECT_EQ((*v)->version, 5u);
  EXPECT_EQ((*v)->vector, (std::vector<float>{1.0f, -2.5f, 0.25f}));
  auto legacy = catalog_->GetItem(7, "x.jpg");
  ASSERT_TRUE(legacy.ok() && legacy->has_value());
  EXPECT_EQ((*legacy)->legacy_vector.size(), 2u);
}

TEST_F(RocksCatalogTest, MigratingALegacyRecordWritesFormat3AndItsVector) {
  ASSERT_TRUE(kv_->Put("img/0000000000000007/x.jpg",
                       FromHex("02 0300000000000000 0b00000000000000 0c00000000000000"
                               " 0d000000 636f6d6d6f6e2d736561726368"
                               " 10000000 7b22636f6c6f72223a22626c7565227d"
                               " 02000000 0000003f 000080bf"))
                  .ok());
  engine::ItemRecord legacy = **catalog_->GetItem(7, "x.jpg");
  engine::CatalogBatch batch;
  engine::ItemWrite w;
  w.record = legacy;
  w.record.version = 1;
  w.vector = legacy.legacy_vector;
  batch.puts.push_back(w);
  Apply(7, batch);
  engine::ItemRecord now = **catalog_->GetItem(7, "x.jpg");
  EXPECT_EQ(now.version, 1u);
  EXPECT_TRUE(now.legacy_vector.empty());
  EXPECT_EQ((**kv_->Get("img/0000000000000007/x.jpg"))[0], 3);
  EXPECT_EQ((*catalog_->GetVector(7, 3))->vector, (std::vector<float>{0.5f, -1.0f}));
}

TEST_F(RocksCatalogTest, ApplyWritesRecordAndVectorWithTheSameVersion) {
  engine::CatalogBatch batch;
  batch.puts = {Item("k1", 1, 7, {0.5f, 0.25f}), Item("k2", 2, 8)};
  Apply(4, batch);
  auto r = catalog_->GetItem(4, "k1");
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status();
  EXPECT_EQ((*r)->id, 1u);
  EXPECT_EQ((*r)->created_ms, 11);
  EXPECT_EQ((*r)->updated_ms, 21);
  EXPECT_EQ((*r)->model, "common-search");
  EXPECT_EQ((*r)->tags, (model::Tags{{"color", "c1"}}));
  EXPECT_EQ((*r)->version, 7u);
  auto v = catalog_->GetVector(4, 1);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->version, 7u);
  EXPECT_EQ((*v)->vector, (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(**kv_->Get("img/0000000000000004/k1"), EncodeItem(batch.puts[0].record));
  EXPECT_EQ(**kv_->Get("vec/0000000000000004/0000000000000001"),
            EncodeVector(7, batch.puts[0].vector));
  Reopen();
  EXPECT_EQ((*catalog_->GetVector(4, 2))->version, 8u);
  EXPECT_TRUE(catalog_->Apply(4, {}).ok());  // empty: nothing to write
}

TEST_F(RocksCatalogTest, RecordOnlyPutKeepsTheStoredVector) {
  engine::CatalogBatch first;
  first.puts = {Item("k", 1, 3, {9.0f})};
  Apply(1, first);
  engine::CatalogBatch tags_only;
  tags_only.puts = {Item("k", 1, 4, {})};
  tags_only.puts[0].record.tags = {{"color", "new"}};
  Apply(1, tags_only);
  EXPECT_EQ((*catalog_->GetItem(1, "k"))->tags, (model::Tags{{"color", "new"}}));
  EXPECT_EQ((*catalog_->GetItem(1, "k"))->version, 4u);
  auto v = catalog_->GetVector(1, 1);
  EXPECT_EQ((*v)->version, 3u);
  EXPECT_EQ((*v)->vector, std::vector<float>{9.0f});
}

TEST_F(RocksCatalogTest, RemovalsDeleteRecordAndVectorAndMayBePutAgain) {
  engine::CatalogBatch first;
  first.puts = {Item("a", 1, 1), Item("b", 2, 2), Item("c", 3, 3)};
  Apply(1, first);
  engine::CatalogBatch second;
  second.removals = {{"a", 1}, {"b", 2}};
  second.puts = {Item("b", 4, 4)};  // b removed (id 2), then put again with a new id
  Apply(1, second);
  EXPECT_FALSE(catalog_->GetItem(1, "a")->has_value());
  EXPECT_FALSE(catalog_->GetVector(1, 1)->has_value());
  EXPECT_FALSE(catalog_->GetVector(1, 2)->has_value());
  EXPECT_EQ((*catalog_->GetItem(1, "b"))->id, 4u);
  EXPECT_TRUE(catalog_->GetVector(1, 4)->has_value());
  EXPECT_EQ(Items(1).size(), 2u);
  EXPECT_EQ(Vectors(1).size(), 2u);
}

TEST_F(RocksCatalogTest, ScansRunInOrderStayInTheirGalleryAndStop) {
  // uids 15 and 16 are 0x0f and 0x10: neighbours in key order.
  engine::CatalogBatch batch;
  // Ids in another order than the keys, so each scan's order shows.
  for (const auto& [key, id] : std::vector<std::pair<std::string, uint64_t>>{
           {"b", 5}, {"a/2", 9}, {"a/10", 1}, {"a", 7}, {"c", 3}}) {
    batch.puts.push_back(Item(key, id, 1));
  }
  Apply(15, batch);
  engine::CatalogBatch other;
  other.puts = {Item("a", 1, 1), Item("0", 2, 1)};
  Apply(16, other);
  std::vector<std::string> keys;
  for (const auto& r : Items(15)) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "a/10", "a/2", "b", "c"}));
  std::vector<uint64_t> ids;
  for (const auto& [id, v] : Vectors(15)) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  EXPECT_EQ(Items(16).size(), 2u);
  EXPECT_EQ(Vectors(16).size(), 2u);
  EXPECT_TRUE(Items(14).empty());
  int seen = 0;
  ASSERT_TRUE(catalog_->ScanItems(15, [&](engine::ItemRecord&&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
  seen = 0;
  ASSERT_TRUE(
      catalog_
          ->ScanVectors(15,
                        [&](uint64_t, engine::CatalogStore::StoredVector&&) { return ++seen < 3; })
          .ok());
  EXPECT_EQ(seen, 3);
}

TEST_F(RocksCatalogTest, UndecodableValuesAreKCorruptWithTheirKey) {
  ASSERT_TRUE(catalog_->CreateGallery(Gallery(1, "p", "good")).ok());
  ASSERT_TRUE(kv_->Put("inst/p/bad", "{not json").ok());
  auto load = catalog_->LoadGalleries();
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(ReasonOf(load.status()), Reason::kCorrupt);
  EXPECT_NE(load.status().message().find("inst/p/bad"), std::string::npos) << load.status();

  ASSERT_TRUE(kv_->Put("img/0000000000000001/bad", "\x03short").ok());
  absl::Status scan = catalog_->ScanItems(1, [](engine::ItemRecord&&) { return true; });
  EXPECT_EQ(ReasonOf(scan), Reason::kCorrupt) << scan;
  EXPECT_EQ(ReasonOf(catalog_->GetItem(1, "bad").status()), Reason::kCorrupt);

  ASSERT_TRUE(kv_->Put("vec/0000000000000001/0000000000000009", "1234567").ok());
  EXPECT_EQ(ReasonOf(catalog_->GetVector(1, 9).status()), Reason::kCorrupt);
  absl::Status vscan =
      catalog_->ScanVectors(1, [](uint64_t, engine::CatalogStore::StoredVector&&) { return true; });
  EXPECT_EQ(ReasonOf(vscan), Reason::kCorrupt) << vscan;
  ASSERT_TRUE(kv_->Put("vec/0000000000000002/xyz", "12345678").ok());
  vscan =
      catalog_->ScanVectors(2, [](uint64_t, engine::CatalogStore::StoredVector&&) { return true; });
  EXPECT_EQ(ReasonOf(vscan), Reason::kCorrupt) << vscan;

  ASSERT_TRUE(kv_->Put("seq/instance", "x1").ok());
  EXPECT_EQ(ReasonOf(catalog_->NextGalleryUid().status()), Reason::kCorrupt);
}

TEST_F(RocksCatalogTest, DeleteGalleryRemovesEverythingAndReclaimFreesTheSpace) {
  const engine::GalleryRecord doomed = Gallery(1, "p", "doomed");
  const engine::GalleryRecord kept = Gallery(2, "p", "kept");
  ASSERT_TRUE(catalog_->CreateGallery(doomed).ok());
  ASSERT_TRUE(catalog_->CreateGallery(kept).ok());
  std::mt19937 rng(7);
  for (int b = 0; b < 10; ++b) {
    engine::CatalogBatch batch;
    for (int i = 0; i < 20; ++i) {
      std::vector<float> noise(1024);  // 4 KiB, incompressible: SST sizes tell the truth
      for (float& f : noise) f = float(rng());
      const uint64_t id = uint64_t(b * 20 + i + 1);
      batch.puts.push_back(Item("item/" + std::to_string(id), id, id, std::move(noise)));
    }
    Apply(doomed.uid, batch);
  }
  engine::CatalogBatch small;
  small.puts = {Item("k", 1, 1)};
  Apply(kept.uid, small);
  Reopen();  // recovery flushes the memtable: the gallery now lives in SST files
  EXPECT_GT(testutil::SstBytes(dir_), 700u * 1024u);

  ASSERT_TRUE(catalog_->DeleteGallery(doomed).ok());
  EXPECT_TRUE(Items(doomed.uid).empty());
  EXPECT_TRUE(Vectors(doomed.uid).empty());
  auto galleries = catalog_->LoadGalleries();
  ASSERT_EQ(galleries->size(), 1u);
  EXPECT_EQ((*galleries)[0].gallery.name, "kept");
  catalog_->ReclaimGallery(doomed.uid);
  EXPECT_LT(testutil::SstBytes(dir_), 100u * 1024u) << "deleted gallery still occupies SSTs";
  EXPECT_EQ(Items(kept.uid).size(), 1u);
  EXPECT_EQ(Vectors(kept.uid).size(), 1u);
  EXPECT_EQ(*catalog_->NextGalleryUid(), 3u) << "uids are never reused";
  Reopen();
  EXPECT_TRUE(Items(doomed.uid).empty());
  EXPECT_EQ(Items(kept.uid).size(), 1u);
}

TEST_F(RocksCatalogTest, AFailedBatchChangesNothing) {
  auto fs = std::make_shared<test::FaultInjectionFs>();
  Reopen(fs);
  engine::CatalogBatch first;
  first.puts = {Item("a", 1, 1, {1.0f}), Item("b", 2, 2, {2.0f})};
  Apply(1, first);
  fs->SetNoSpace(true);  // the next WAL append fails: as a full disk would
  engine::CatalogBatch second;
  second.removals = {{"a", 1}};
  second.puts = {Item("b", 2, 3, {20.0f}), Item("c", 3, 4, {3.0f})};
  absl::Status s = catalog_->Apply(1, second);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ReasonOf(s), Reason::kNoSpace) << s;
  EXPECT_GT(fs->no_space_failures(), 0);
  // Nothing of the batch is visible: not the removal, not the update, not the new item.
  auto check = [&] {
    EXPECT_EQ((*catalog_->GetItem(1, "a"))->id, 1u);
    EXPECT_EQ((*catalog_->GetItem(1, "b"))->version, 2u);
    EXPECT_EQ((*catalog_->GetVector(1, 2))->vector, std::vector<float>{2.0f});
    EXPECT_FALSE(catalog_->GetItem(1, "c")->has_value());
    EXPECT_FALSE(catalog_->GetVector(1, 3)->has_value());
    EXPECT_EQ(Items(1).size(), 2u);
    EXPECT_EQ(Vectors(1).size(), 2u);
  };
  check();
  fs->SetNoSpace(false);
  Reopen();  // and nothing of it comes back from the WAL
  check();
}

}  // namespace
}  // namespace iss::store
