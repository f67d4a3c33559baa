// The real default model: deterministic vectors, crops change them, bad files are refused,
// its calibration (whitening + similarity map) separates a copy from an unrelated photo at
// the documented threshold and upgrades vectors of the uncalibrated network exactly.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/status.h"
#include "features/model_config.h"
#include "features/model_registry.h"
#include "features/onnx_embedder.h"

namespace iss::features {
namespace {

// The reason of a failure by name ("" when OK): what the tests compare.
std::string ReasonCode(const absl::Status& s) {
  return s.ok() ? "" : std::string(ReasonName(ReasonOf(s)));
}

// "Same image if sim >= 0.86": the default model's documented threshold (docs/models.md).
constexpr float kSameImage = 0.86f;

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
    auto r = OpenModelRegistry(ISS_MODEL_DIR, {.threads = 2});
    ASSERT_TRUE(r.ok()) << r.status() << " (run scripts/fetch-model.sh)";
    registry_ = r->release();
  }
  static void TearDownTestSuite() { delete registry_; }
  const engine::Embedder& model() {
    const engine::Embedder* e = registry_->Find("common-search");
    EXPECT_NE(e, nullptr);
    return *e;
  }
  static engine::ModelRegistry* registry_;
};
engine::ModelRegistry* EmbedderTest::registry_ = nullptr;

TEST_F(EmbedderTest, BuiltInModelsAreListed) {
  EXPECT_NE(registry_->Find("common-search"), nullptr);
  EXPECT_NE(registry_->Find("common-search-accurate"), nullptr);
  EXPECT_NE(registry_->Find("image-copyright"), nullptr);
  EXPECT_EQ(model().dim(), 576);
  // image-recommend: InceptionV3 cut at mixed9, raw cosine (no calibration, no verification).
  const engine::Embedder* rec = registry_->Find("image-recommend");
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->dim(), 2048);
  EXPECT_EQ(rec->verify_candidates(), 0);
  EXPECT_FLOAT_EQ(rec->Similarity(0.5f), 0.5f);
  EXPECT_EQ(rec->vector_model(), "image-recommend");
}

// image-copyright: the default network and calibration, plus geometric verification. An
// unverified hit never reaches the threshold; a verified strong edit does; a stranger stays.
TEST_F(EmbedderTest, CopyModelVerifiesWhatTheGlobalVectorCannotDecide) {
  const engine::Embedder* copy = registry_->Find("image-copyright");
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->dim(), 576);
  EXPECT_EQ(copy->verify_candidates(), 10);
  EXPECT_EQ(model().verify_candidates(), 0);
  EXPECT_LT(copy->Similarity(1.0f), kSameImage);  // unverified: below, whatever the vector
  const std::string dev = std::string(ISS_SHARED_DIR) + "/eval/dev/";
  // q_0041.jpg: o_005.jpg rotated 15 degrees with black corners (truth.json).
  auto query = copy->Embed(Read(dev + "queries/q_0041.jpg"), {.purpose = Purpose::kQuery});
  auto same = copy->Embed(Read(dev + "originals/o_005.jpg"), {});
  auto other = copy->Embed(Read(dev + "originals/o_002.jpg"), {});
  ASSERT_TRUE(query.ok() && same.ok() && other.ok());
  ASSERT_FALSE(query->local_features.empty());
  ASSERT_FALSE(same->local_features.empty());
  EXPECT_EQ(query->vector, model().Embed(Read(dev + "queries/q_0041.jpg"), {})->vector);
  const float sim_same = copy->Similarity(Dot(query->vector, same->vector));
  const float sim_other = copy->Similarity(Dot(query->vector, other->vector));
  EXPECT_GE(copy->Verify(sim_same, query->local_features, same->local_features), 0.9f);
  EXPECT_EQ(copy->Verify(sim_other, query->local_features, other->local_features), sim_other);
  EXPECT_LT(sim_other, kSameImage);
  // Nothing to verify against: the score stays as it was.
  EXPECT_EQ(copy->Verify(sim_same, query->local_features, ""), sim_same);
  EXPECT_TRUE(model().Embed(Read(dev + "originals/o_005.jpg"), {})->local_features.empty());
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
  EXPECT_GT(Dot(query->vector, same->vector), Dot(query->vector, other->vector));
  // The documented "same image" threshold (docs/models.md): a copy above, a stranger below.
  EXPECT_GE(model().Similarity(Dot(query->vector, same->vector)), kSameImage);
  EXPECT_LT(model().Similarity(Dot(query->vector, other->vector)), 0.5);
}

TEST_F(EmbedderTest, SimilarityMapIsMonotoneAndBounded) {
  const engine::Embedder& m = model();
  EXPECT_FLOAT_EQ(m.Similarity(1.0f), 1.0f);
  EXPECT_FLOAT_EQ(m.Similarity(0.0f), 0.0f);
  EXPECT_FLOAT_EQ(m.Similarity(-0.3f), 0.0f);    // negative inner products: unrelated
  EXPECT_NEAR(m.Similarity(0.5f), 0.75f, 1e-6);  // 1 - (1 - 0.5)^2
  EXPECT_LT(m.Similarity(0.62f), m.Similarity(0.63f));
  // The uncalibrated accurate model serves the inner product itself.
  const engine::Embedder* accurate = registry_->Find("common-search-accurate");
  ASSERT_NE(accurate, nullptr);
  EXPECT_FLOAT_EQ(accurate->Similarity(0.5f), 0.5f);
  EXPECT_EQ(accurate->vector_model(), "common-search-accurate");
}

TEST(OnnxEmbedderCalibrationTest, UpgradeOfAnUncalibratedVectorIsTheCalibratedVector) {
  auto config = LoadModelConfig(std::string(ISS_MODEL_DIR) + "/common-search.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_FALSE(config->whitening_path.empty());
  auto calibrated = OnnxEmbedder::Create(*config, 1);
  ASSERT_TRUE(calibrated.ok()) << calibrated.status();
  ModelConfig raw_config = *config;
  raw_config.whitening_path.clear();
  auto raw = OnnxEmbedder::Create(raw_config, 1);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ((*raw)->vector_model(), "common-search");
  EXPECT_EQ((*calibrated)->vector_model(),
            "common-search@pca-" + config->whitening_sha256.substr(0, 12));
  EXPECT_TRUE((*calibrated)->Upgrades("common-search"));
  EXPECT_FALSE((*calibrated)->Upgrades("common-search-accurate"));
  EXPECT_FALSE((*raw)->Upgrades("common-search"));
  const std::string img = Read(std::string(ISS_TEST_DATA) + "/golden.jpg");
  auto old_vector = (*raw)->Embed(img, {});
  auto new_vector = (*calibrated)->Embed(img, {});
  ASSERT_TRUE(old_vector.ok() && new_vector.ok());
  std::vector<float> upgraded = (*calibrated)->Upgrade(old_vector->vector);
  ASSERT_EQ(upgraded.size(), new_vector->vector.size());
  float max_diff = 0;
  for (size_t i = 0; i < upgraded.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(upgraded[i] - new_vector->vector[i]));
  }
  EXPECT_LT(max_diff, 1e-5);
  EXPECT_LT(Dot(old_vector->vector, new_vector->vector), 0.5);  // a different space
}

TEST(OnnxEmbedderCalibrationTest, RefusesAWhiteningThatDoesNotMatch) {
  auto config = LoadModelConfig(std::string(ISS_MODEL_DIR) + "/common-search.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  ModelConfig wrong_sum = *config;
  wrong_sum.whitening_sha256 = std::string(64, '0');
  EXPECT_EQ(ReasonCode(OnnxEmbedder::Create(wrong_sum, 1).status()), "ModelUnavailable");
  ModelConfig wrong_dims = *config;
  wrong_dims.whitening_dims = 128;
  EXPECT_EQ(ReasonCode(OnnxEmbedder::Create(wrong_dims, 1).status()), "ModelUnavailable");
  ModelConfig missing = *config;
  missing.whitening_path += ".missing";
  EXPECT_EQ(ReasonCode(OnnxEmbedder::Create(missing, 1).status()), "ModelUnavailable");
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
  EXPECT_EQ(ReasonCode(model().Embed(Read(bad + "truncated.jpg"), {}).status()), "ImageCorrupt");
  EXPECT_EQ(ReasonCode(model().Embed(Read(bad + "unsupported.svg"), {}).status()), "ImageFormat");
  EXPECT_EQ(ReasonCode(model().Embed(Read(bad + "size_99x99.jpg"), {}).status()), "ImageTooSmall");
  EXPECT_EQ(ReasonCode(model().Embed(Read(bad + "bomb_60000x60000.png"), {}).status()),
            "ImageTooBig");
}

}  // namespace
}  // namespace iss::features

namespace iss::features {
namespace {

TEST(OnnxEmbedderGoldenTest, CppPipelineMatchesTheConverterGolden) {
  // tools/model/verify.py computed this embedding (global average pool, signed sqrt, L2)
  // with NumPy and OpenCV's Python binding at set-up; the C++ path must agree.
  auto config = LoadModelConfig(std::string(ISS_MODEL_DIR) + "/common-search.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  config->pooling = "avg";
  config->whitening_path.clear();  // the golden is the network's own output
  auto e = OnnxEmbedder::Create(*config, 1);
  ASSERT_TRUE(e.ok()) << e.status();
  auto got = (*e)->Embed(Read(std::string(ISS_TEST_DATA) + "/golden.jpg"), {});
  ASSERT_TRUE(got.ok()) << got.status();
  std::string golden = Read(std::string(ISS_SOURCE_DIR) + "/tools/model/golden-common-search.json");
  size_t start = golden.find('[');
  ASSERT_NE(start, std::string::npos);
  std::vector<float> want;
  for (size_t i = start + 1; i < golden.size() && golden[i] != ']';) {
    size_t end = golden.find_first_of(",]", i);
    want.push_back(std::stof(golden.substr(i, end - i)));
    i = golden[end] == ',' ? end + 1 : end;
  }
  ASSERT_EQ(want.size(), got->vector.size());
  float max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(want[i] - got->vector[i]));
  }
  EXPECT_LT(max_diff, 1e-4);
}

TEST(OnnxEmbedderThreadsTest, ConcurrentCallersGetIdenticalVectors) {
  auto config = LoadModelConfig(std::string(ISS_MODEL_DIR) + "/common-search.toml");
  ASSERT_TRUE(config.ok());
  auto e = OnnxEmbedder::Create(*config, 2);
  ASSERT_TRUE(e.ok());
  const std::string img = Read(std::string(ISS_TEST_DATA) + "/golden.jpg");
  auto reference = (*e)->Embed(img, {});
  ASSERT_TRUE(reference.ok());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto v = (*e)->Embed(img, {});
        if (!v.ok() || v->vector != reference->vector) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace iss::features
