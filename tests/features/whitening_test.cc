// features::Whitening (learn, save, load with its checks, apply) and the model TOML keys
// that name it (features::LoadModelConfig). Each test writes into its own temp dir.
#include "features/whitening.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "features/model_config.h"

namespace iss::features {
namespace {

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

class WhiteningTest : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = testing::TempDir() + "/iss_whitening_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Four points around mu = (5, 5, 0): +-10 along x, +-1 along y; z never varies.
  static std::vector<std::vector<float>> Samples() {
    return {{15, 5, 0}, {-5, 5, 0}, {5, 6, 0}, {5, 4, 0}};
  }
  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }

  std::string dir_;
};

TEST_F(WhiteningTest, WhitensCentresAndNormalises) {
  auto w = Whitening::Learn(Samples(), /*out_dim=*/2, /*shrink=*/0.0, /*power=*/1.0);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->in_dim(), 3);
  EXPECT_EQ(w->out_dim(), 2);
  std::vector<float> along_x = {15, 5, 0}, along_y = {5, 6, 0}, both = {15, 6, 0};
  w->Apply(along_x);
  w->Apply(along_y);
  w->Apply(both);
  ASSERT_EQ(along_x.size(), 2u);
  EXPECT_NEAR(Dot(along_x, along_x), 1.0, 1e-5);
  // Centred: the two axes of variation become orthogonal directions.
  EXPECT_NEAR(Dot(along_x, along_y), 0.0, 1e-5);
  // Whitened: one standard deviation along x weighs as much as one along y, though x
  // varies 10 times more (raw cosine of `both` with x would be 0.995).
  EXPECT_NEAR(std::fabs(Dot(both, along_x)), std::sqrt(0.5), 1e-4);
  EXPECT_NEAR(std::fabs(Dot(both, along_y)), std::sqrt(0.5), 1e-4);
}

TEST_F(WhiteningTest, ShrinkageLimitsTheWeakDirections) {
  auto w = Whitening::Learn(Samples(), 2, /*shrink=*/10.0, 1.0);
  ASSERT_TRUE(w.ok());
  std::vector<float> both = {15, 6, 0}, along_x = {15, 5, 0};
  w->Apply(both);
  w->Apply(along_x);
  // Strong shrinkage leaves the data's own scale dominant again.
  EXPECT_GT(std::fabs(Dot(both, along_x)), 0.9);
}

TEST_F(WhiteningTest, RejectsBadInput) {
  EXPECT_FALSE(Whitening::Learn({{1, 2}}, 1, 0, 1).ok());
  EXPECT_FALSE(Whitening::Learn(Samples(), 4, 0, 1).ok());
  EXPECT_FALSE(Whitening::Learn(Samples(), 0, 0, 1).ok());
  EXPECT_FALSE(Whitening::Learn({{1, 2}, {1, 2, 3}}, 1, 0, 1).ok());
}

TEST_F(WhiteningTest, SaveLoadRoundTripAndChecks) {
  auto w = Whitening::Learn(Samples(), 2, 0.1, 1.0);
  ASSERT_TRUE(w.ok());
  const std::string path = dir_ + "/w.pca";
  ASSERT_TRUE(w->Save(path).ok());
  const std::string sha = FileSha256(path);
  ASSERT_EQ(sha.size(), 64u);
  auto loaded = Whitening::Load(path, 3, sha, 1.0);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<float> a = {1, 2, 3}, b = a;
  w->Apply(a);
  loaded->Apply(b);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(Whitening::Load(path, 3, "", 1.0).ok());    // no checksum asked
  EXPECT_FALSE(Whitening::Load(path, 4, sha, 1.0).ok());  // made for other vectors
  EXPECT_FALSE(Whitening::Load(path, 3, std::string(64, '0'), 1.0).ok());
  EXPECT_FALSE(Whitening::Load(dir_ + "/missing.pca", 3, "", 1.0).ok());
  // Truncated, and not a whitening file at all.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(dir_ + "/short.pca", std::ios::binary) << bytes.substr(0, bytes.size() - 4);
  EXPECT_FALSE(Whitening::Load(dir_ + "/short.pca", 3, "", 1.0).ok());
  std::ofstream(dir_ + "/junk.pca", std::ios::binary) << "junk" << bytes;
  EXPECT_FALSE(Whitening::Load(dir_ + "/junk.pca", 3, "", 1.0).ok());
}

TEST_F(WhiteningTest, PowerIsAppliedBeforeTheNorm) {
  auto w = Whitening::Learn(Samples(), 2, 0.0, 0.5);
  ASSERT_TRUE(w.ok());
  std::vector<float> v = {25, 7, 0};  // equal standard scores along x and y: still equal
  w->Apply(v);
  EXPECT_NEAR(std::fabs(v[0]), std::fabs(v[1]), 1e-4);
  std::vector<float> u = {45, 6, 0};  // standard scores 4:1, square-rooted 2:1
  w->Apply(u);
  const float big = std::max(std::fabs(u[0]), std::fabs(u[1]));
  const float small = std::min(std::fabs(u[0]), std::fabs(u[1]));
  EXPECT_NEAR(big / small, 2.0, 1e-3);
}

TEST_F(WhiteningTest, ModelConfigKeys) {
  const std::string sha(64, 'a');
  const std::string head = "name = \"m\"\nonnx = \"m.onnx\"\n";
  WriteFile("ok.toml", head + "whitening = \"m.pca\"\nwhitening_sha256 = \"" + sha +
                           "\"\nwhitening_dims = 576\nwhitening_power = 0.5\n");
  auto c = LoadModelConfig(dir_ + "/ok.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->whitening_path, dir_ + "/m.pca");  // relative to the TOML
  EXPECT_EQ(c->whitening_sha256, sha);
  EXPECT_EQ(c->whitening_dims, 576);
  EXPECT_DOUBLE_EQ(c->whitening_power, 0.5);

  WriteFile("none.toml", head);
  c = LoadModelConfig(dir_ + "/none.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->whitening_path.empty());
  EXPECT_DOUBLE_EQ(c->whitening_power, 1.0);

  const std::string bad[] = {
      "whitening = \"m.pca\"\nwhitening_dims = 576\n",  // no checksum
      "whitening = \"m.pca\"\nwhitening_sha256 = \"abc\"\nwhitening_dims = 576\n",
      "whitening = \"m.pca\"\nwhitening_sha256 = \"" + sha + "\"\n",  // no dims
      "whitening = \"m.pca\"\nwhitening_sha256 = \"" + sha +
          "\"\nwhitening_dims = 576\nwhitening_power = 2.0\n",
      "whitening_dims = 576\n",  // a whitening key without the file
  };
  for (const std::string& body : bad) {
    WriteFile("bad.toml", head + body);
    EXPECT_FALSE(LoadModelConfig(dir_ + "/bad.toml").ok()) << body;
  }
}

}  // namespace
}  // namespace iss::features
