// The real default model: deterministic vectors, crops change them, bad files are refused.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/error.h"
#include "features/embedder.h"

namespace iss::features {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

class EmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = ModelRegistry::Open(ISS_MODEL_DIR, {.threads = 2});
    ASSERT_TRUE(r.ok()) << r.status() << " (run scripts/fetch-model.sh)";
    registry_ = r->release();
  }
  static void TearDownTestSuite() { delete registry_; }
  const Embedder& model() {
    const Embedder* e = registry_->Find("common-search");
    EXPECT_NE(e, nullptr);
    return *e;
  }
  static ModelRegistry* registry_;
};
ModelRegistry* EmbedderTest::registry_ = nullptr;

TEST_F(EmbedderTest, BuiltInModelsAreListed) {
  EXPECT_NE(registry_->Find("common-search"), nullptr);
  EXPECT_NE(registry_->Find("common-search-accurate"), nullptr);
  EXPECT_EQ(registry_->Find("image-recommend"), nullptr);
  EXPECT_EQ(model().dim(), 576);
}

TEST_F(EmbedderTest, SameImageSameVectorAndNormalised) {
  std::string img = Read(std::string(ISS_TEST_DATA) + "/golden.jpg");
  auto a = model().Embed(img, {});
  auto b = model().Embed(img, {});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(a->vector.size(), 576u);
  EXPECT_EQ(a->vector, b->vector);
  EXPECT_NEAR(Dot(a->vector, a->vector), 1.0, 1e-5);
}

TEST_F(EmbedderTest, SimilarImagesScoreHigherThanDifferentOnes) {
  const std::string dev = std::string(ISS_SHARED_DIR) + "/eval/dev/";
  // q_0001.jpg is a downscaled copy of o_022.jpg (truth.json).
  auto query = model().Embed(Read(dev + "queries/q_0001.jpg"), {.purpose = Purpose::kQuery});
  auto same = model().Embed(Read(dev + "originals/o_022.jpg"), {});
  auto other = model().Embed(Read(dev + "originals/o_005.jpg"), {});
  ASSERT_TRUE(query.ok() && same.ok() && other.ok());
  EXPECT_GT(Dot(query->vector, same->vector), 0.95);
  EXPECT_GT(Dot(query->vector, same->vector), Dot(query->vector, other->vector));
}

TEST_F(EmbedderTest, CropBoxChangesTheVector) {
  std::string img = Read(std::string(ISS_TEST_DATA) + "/golden.jpg");
  auto whole = model().Embed(img, {});
  auto crop = model().Embed(img, {.box = Box{0, 0, 160, 160}});
  ASSERT_TRUE(whole.ok() && crop.ok()) << crop.status();
  EXPECT_LT(Dot(whole->vector, crop->vector), 0.999);
  auto outside = model().Embed(img, {.box = Box{5000, 5000, 10, 10}});
  EXPECT_FALSE(outside.ok());
}

TEST_F(EmbedderTest, BrokenFilesGiveTheirErrors) {
  const std::string bad = std::string(ISS_SHARED_DIR) + "/eval/bad-inputs/";
  EXPECT_EQ(ApiCode(model().Embed(Read(bad + "truncated.jpg"), {}).status()), "IS.2002");
  EXPECT_EQ(ApiCode(model().Embed(Read(bad + "unsupported.gif"), {}).status()), "IS.2001");
  EXPECT_EQ(ApiCode(model().Embed(Read(bad + "size_99x99.jpg"), {}).status()), "IS.2107");
  EXPECT_EQ(ApiCode(model().Embed(Read(bad + "bomb_60000x60000.png"), {}).status()), "IS.2106");
}

}  // namespace
}  // namespace iss::features
