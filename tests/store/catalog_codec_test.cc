// The catalog's on-disk format: golden bytes written by the old codec (src/core/catalog.cc,
// generated once with its EncodeInstance / EncodeImage / EncodeVector and checked with its
// DecodeImage for the hand-built format 2 record) must decode, and encode back to the same
// bytes, so existing data directories open unchanged. Decode errors are kCorrupt.
#include "store/catalog_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "store_test_util.h"

namespace iss::store {
namespace {

using testutil::FromHex;

// EncodeInstance of {uid 7, p1/shoes, common-search, "Common search", `summer "line"`,
// level 1000, tags color+size, registered 1700000000123, never expires, NORMAL}.
constexpr char kGoldenGallery[] =
    R"({"description":"summer \"line\"","domain":"Common search","expired_date_ms":-1,)"
    R"("level":1000,"model":"common-search","name":"shoes","project_id":"p1",)"
    R"("register_date_ms":1700000000123,"status":"NORMAL","tags":["color","size"],"uid":7})";

// EncodeImage of {id 42, created 1700000000001, updated 1700000000002, common-search,
// {color: red, size: 9}, version 5}: format 3.
constexpr char kGoldenItem[] =
    "03 2a00000000000000 0168e5cf8b010000 0268e5cf8b010000"
    " 0d000000 636f6d6d6f6e2d736561726368"
    " 1a000000 7b22636f6c6f72223a22726564222c2273697a65223a2239227d"
    " 0500000000000000";

// EncodeVector(5, {1, -2.5, 0.25}).
constexpr char kGoldenVector[] = "0500000000000000 0000803f 000020c0 0000803e";

// Format 2 (before issue 5): {id 3, created 11, updated 12, common-search, {color: blue}},
// then dim 2 and the vector {0.5, -1} inline.
constexpr char kGoldenLegacyItem[] =
    "02 0300000000000000 0b00000000000000 0c00000000000000"
    " 0d000000 636f6d6d6f6e2d736561726368"
    " 10000000 7b22636f6c6f72223a22626c7565227d"
    " 02000000 0000003f 000080bf";

engine::GalleryRecord GoldenGalleryRecord() {
  engine::GalleryRecord r;
  r.uid = 7;
  r.gallery.project_id = "p1";
  r.gallery.name = "shoes";
  r.gallery.model = "common-search";
  r.gallery.model_display_name = "Common search";
  r.gallery.description = "summer \"line\"";
  r.gallery.capacity = 1000;
  r.gallery.tag_keys = {"color", "size"};
  r.gallery.created_ms = 1700000000123;
  r.gallery.expires_ms = -1;
  r.gallery.state = model::GalleryState::kNormal;
  return r;
}

engine::ItemRecord GoldenItemRecord() {
  engine::ItemRecord r;
  r.key = "a/b.jpg";
  r.id = 42;
  r.created_ms = 1700000000001;
  r.updated_ms = 1700000000002;
  r.model = "common-search";
  r.tags = {{"color", "red"}, {"size", "9"}};
  r.version = 5;
  return r;
}

void ExpectSameGallery(const engine::GalleryRecord& a, const engine::GalleryRecord& b) {
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gallery.project_id, b.gallery.project_id);
  EXPECT_EQ(a.gallery.name, b.gallery.name);
  EXPECT_EQ(a.gallery.model, b.gallery.model);
  EXPECT_EQ(a.gallery.model_display_name, b.gallery.model_display_name);
  EXPECT_EQ(a.gallery.description, b.gallery.description);
  EXPECT_EQ(a.gallery.capacity, b.gallery.capacity);
  EXPECT_EQ(a.gallery.tag_keys, b.gallery.tag_keys);
  EXPECT_EQ(a.gallery.created_ms, b.gallery.created_ms);
  EXPECT_EQ(a.gallery.expires_ms, b.gallery.expires_ms);
  EXPECT_EQ(a.gallery.state, b.gallery.state);
}

void ExpectCorrupt(const absl::Status& s) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ReasonOf(s), Reason::kCorrupt) << s;
}

TEST(CatalogCodecTest, KeysAreTheOldKeys) {
  EXPECT_EQ(GalleryKey("p1", "shoes"), "inst/p1/shoes");
  EXPECT_EQ(ItemPrefix(7), "img/0000000000000007/");
  EXPECT_EQ(ItemKey(7, "a/b.jpg"), "img/0000000000000007/a/b.jpg");
  EXPECT_EQ(ItemKey(0xabcdef0123456789, "k"), "img/abcdef0123456789/k");
  EXPECT_EQ(VectorPrefix(7), "vec/0000000000000007/");
  EXPECT_EQ(VectorKey(7, 42), "vec/0000000000000007/000000000000002a");
  EXPECT_EQ(kGallerySeqKey, "seq/instance");
}

TEST(CatalogCodecTest, ParsesVectorKeys) {
  EXPECT_EQ(ParseVectorKey(VectorKey(7, 42)), 42u);
  EXPECT_EQ(ParseVectorKey(VectorKey(1, UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(ParseVectorKey("vec/0000000000000007/00000000000000zz"), std::nullopt);
  EXPECT_EQ(ParseVectorKey("img/0000000000000007/000000000000002a"), std::nullopt);
  EXPECT_EQ(ParseVectorKey("vec/0000000000000007/2a"), std::nullopt);
}

TEST(CatalogCodecTest, GalleryMatchesTheOldBytes) {
  EXPECT_EQ(EncodeGallery(GoldenGalleryRecord()), kGoldenGallery);
  auto r = DecodeGallery(kGoldenGallery);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSameGallery(*r, GoldenGalleryRecord());
  EXPECT_EQ(r->gallery.item_count, 0);
}

TEST(CatalogCodecTest, GalleryRoundTripsEveryField) {
  engine::GalleryRecord g = GoldenGalleryRecord();
  g.uid = UINT64_MAX;
  g.gallery.state = model::GalleryState::kAbnormal;
  g.gallery.expires_ms = 1800000000000;
  g.gallery.tag_keys = {};
  g.gallery.description = "naïve ünïcode / \\ \n";
  auto r = DecodeGallery(EncodeGallery(g));
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSameGallery(*r, g);
  EXPECT_NE(EncodeGallery(g).find(R"("status":"ABNORMAL")"), std::string::npos);
}

TEST(CatalogCodecTest, GalleryFieldsMissingFromOldRecordsGetTheOldDefaults) {
  auto r = DecodeGallery(R"({"uid":3,"project_id":"p","name":"n","model":"m"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->gallery.model_display_name, "m");
  EXPECT_EQ(r->gallery.description, "");
  EXPECT_EQ(r->gallery.capacity, 30000000);
  EXPECT_TRUE(r->gallery.tag_keys.empty());
  EXPECT_EQ(r->gallery.created_ms, 0);
  EXPECT_EQ(r->gallery.expires_ms, -1);
  EXPECT_EQ(r->gallery.state, model::GalleryState::kNormal);
}

TEST(CatalogCodecTest, CorruptGalleriesAreKCorrupt) {
  ExpectCorrupt(DecodeGallery("").status());
  ExpectCorrupt(DecodeGallery("{\"uid\":").status());
  ExpectCorrupt(DecodeGallery("[1,2]").status());
  ExpectCorrupt(DecodeGallery(R"({"project_id":"p","name":"n","model":"m"})").status());
  ExpectCorrupt(DecodeGallery(R"({"uid":"7","project_id":"p","name":"n","model":"m"})").status());
  ExpectCorrupt(DecodeGallery(R"({"uid":7,"name":"n","model":"m"})").status());
  ExpectCorrupt(DecodeGallery(R"({"uid":7,"project_id":1,"name":"n","model":"m"})").status());
  ExpectCorrupt(
      DecodeGallery(R"({"uid":7,"project_id":"p","name":"n","model":"m","level":"x"})").status());
  ExpectCorrupt(
      DecodeGallery(R"({"uid":7,"project_id":"p","name":"n","model":"m","tags":[1]})").status());
  ExpectCorrupt(
      DecodeGallery(R"({"uid":7,"project_id":"p","name":"n","model":"m","status":"GONE"})")
          .status());
}

TEST(CatalogCodecTest, GallerySequence) {
  EXPECT_EQ(EncodeGallerySeq(12), "12");
  EXPECT_EQ(*DecodeGallerySeq("12"), 12u);
  ExpectCorrupt(DecodeGallerySeq("twelve").status());
  ExpectCorrupt(DecodeGallerySeq("").status());
}

TEST(CatalogCodecTest, ItemMatchesTheOldBytes) {
  const std::string golden = FromHex(kGoldenItem);
  EXPECT_EQ(EncodeItem(GoldenItemRecord()), golden);
  auto r = DecodeItem("a/b.jpg", golden);
  ASSERT_TRUE(r.ok()) << r.status();
  const engine::ItemRecord want = GoldenItemRecord();
  EXPECT_EQ(r->key, want.key);
  EXPECT_EQ(r->id, want.id);
  EXPECT_EQ(r->created_ms, want.created_ms);
  EXPECT_EQ(r->updated_ms, want.updated_ms);
  EXPECT_EQ(r->model, want.model);
  EXPECT_EQ(r->tags, want.tags);
  EXPECT_EQ(r->version, want.version);
  EXPECT_TRUE(r->legacy_vector.empty());
}

TEST(CatalogCodecTest, ItemRoundTripsEdgeValues) {
  engine::ItemRecord item;
  item.key = std::string("k\0\xff", 3);
  item.id = UINT64_MAX;
  item.created_ms = -5;
  item.updated_ms = INT64_MAX;
  item.model = "";
  item.tags = {{"", ""}, {"k", "v \"q\" \\ \n"}};
  item.version = UINT64_MAX;
  item.legacy_vector = {1.0f};  // never written
  auto r = DecodeItem(item.key, EncodeItem(item));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, item.key);
  EXPECT_EQ(r->id, item.id);
  EXPECT_EQ(r->created_ms, item.created_ms);
  EXPECT_EQ(r->updated_ms, item.updated_ms);
  EXPECT_EQ(r->model, item.model);
  EXPECT_EQ(r->tags, item.tags);
  EXPECT_EQ(r->version, item.version);
  EXPECT_TRUE(r->legacy_vector.empty());
}

TEST(CatalogCodecTest, LegacyFormat2ItemDecodesWithItsInlineVector) {
  auto r = DecodeItem("x.jpg", FromHex(kGoldenLegacyItem));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, "x.jpg");
  EXPECT_EQ(r->id, 3u);
  EXPECT_EQ(r->created_ms, 11);
  EXPECT_EQ(r->updated_ms, 12);
  EXPECT_EQ(r->model, "common-search");
  EXPECT_EQ(r->tags, (model::Tags{{"color", "blue"}}));
  EXPECT_EQ(r->version, 0u);
  EXPECT_EQ(r->legacy_vector, (std::vector<float>{0.5f, -1.0f}));
}

TEST(CatalogCodecTest, NonStringTagValuesAreIgnoredAsBefore) {
  std::string bytes = FromHex(kGoldenItem);
  const std::string tags = R"({"color":"red","size":999})";  // as long as the original
  bytes.replace(1 + 8 + 8 + 8 + 4 + 13 + 4, tags.size(), tags);
  auto r = DecodeItem("k", bytes);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tags, (model::Tags{{"color", "red"}}));
}

TEST(CatalogCodecTest, CorruptItemsAreKCorrupt) {
  const std::string golden = FromHex(kGoldenItem);
  ExpectCorrupt(DecodeItem("k", "").status());
  std::string bad_version = golden;
  bad_version[0] = 4;
  ExpectCorrupt(DecodeItem("k", bad_version).status());
  for (size_t cut = 1; cut < golden.size(); ++cut) {
    ExpectCorrupt(DecodeItem("k", golden.substr(0, cut)).status());
  }
  ExpectCorrupt(DecodeItem("k", golden + "x").status());
  std::string bad_tags = golden;
  bad_tags[1 + 8 + 8 + 8 + 4 + 13 + 4] = '[';
  ExpectCorrupt(DecodeItem("k", bad_tags).status());
  const std::string legacy = FromHex(kGoldenLegacyItem);
  ExpectCorrupt(DecodeItem("k", legacy.substr(0, legacy.size() - 1)).status());
  ExpectCorrupt(DecodeItem("k", legacy + "1234").status());
}

TEST(CatalogCodecTest, VectorMatchesTheOldBytes) {
  const std::vector<float> v = {1.0f, -2.5f, 0.25f};
  EXPECT_EQ(EncodeVector(5, v), FromHex(kGoldenVector));
  auto r = DecodeVector(FromHex(kGoldenVector));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 5u);
  EXPECT_EQ(r->vector, v);
  auto empty = DecodeVector(EncodeVector(9, {}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->version, 9u);
  EXPECT_TRUE(empty->vector.empty());
}

TEST(CatalogCodecTest, CorruptVectorsAreKCorrupt) {
  ExpectCorrupt(DecodeVector("").status());
  ExpectCorrupt(DecodeVector("1234567").status());
  ExpectCorrupt(DecodeVector(FromHex(kGoldenVector) + "x").status());
}

}  // namespace
}  // namespace iss::store
