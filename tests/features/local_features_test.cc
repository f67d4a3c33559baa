// Geometric verification on real photos of the dev set: an edited copy (rotated, cropped,
// blurred, mirrored) matches its original with many inliers, an unrelated photo with few;
// damaged encodings count as no features rather than failing.
#include "features/local_features.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

namespace iss::features {
namespace {

constexpr int kVerified = 8;  // models/image-copyright.toml: verify_min_inliers

std::string Dev(const std::string& file) {
  return std::string(ISS_SHARED_DIR) + "/eval/dev/" + file;
}

std::string Stored(const std::string& file) {
  cv::Mat img = cv::imread(Dev(file), cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty()) << file;
  return ExtractLocalFeatures(img, {});
}

std::string Query(const std::string& file) {
  cv::Mat img = cv::imread(Dev(file), cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty()) << file;
  return ExtractLocalFeatures(img, {.with_mirror = true});
}

TEST(LocalFeaturesTest, EditedCopiesMatchTheirOriginalAndNothingElse) {
  // truth.json: query -> original, and how it was edited.
  const std::vector<std::pair<std::string, std::string>> copies = {
      {"queries/q_0002.jpg", "originals/o_005.jpg"},  // hflip (matched through the mirror)
      {"queries/q_0011.jpg", "originals/o_003.jpg"},  // blur radius 2.4
      {"queries/q_0014.jpg", "originals/o_003.jpg"},  // centre crop, 58 % of the area
      {"queries/q_0041.jpg", "originals/o_005.jpg"},  // rotated 15 degrees, black corners
      {"queries/q_0122.jpg", "originals/o_002.jpg"},  // rotated -15 degrees
      {"queries/q_0260.jpg", "originals/o_003.jpg"},  // rotated -90 degrees
  };
  const std::vector<std::string> originals = {"originals/o_002.jpg",   "originals/o_003.jpg",
                                              "originals/o_005.jpg",   "distractors/d_001.jpg",
                                              "distractors/d_020.jpg", "distractors/d_050.jpg"};
  std::vector<std::string> stored;
  for (const auto& o : originals) stored.push_back(Stored(o));
  for (const auto& [query, original] : copies) {
    const std::string q = Query(query);
    for (size_t i = 0; i < originals.size(); ++i) {
      const int n = CountInliers(q, stored[i]);
      if (originals[i] == original) {
        EXPECT_GE(n, 3 * kVerified) << query << " vs its original";
      } else {
        EXPECT_LT(n, kVerified) << query << " vs " << originals[i];
      }
    }
  }
}

TEST(LocalFeaturesTest, AMirroredCopyNeedsTheMirrorSet) {
  cv::Mat img = cv::imread(Dev("queries/q_0002.jpg"), cv::IMREAD_COLOR);
  const std::string original = Stored("originals/o_005.jpg");
  EXPECT_GE(CountInliers(ExtractLocalFeatures(img, {.with_mirror = true}), original), kVerified);
  EXPECT_LT(CountInliers(ExtractLocalFeatures(img, {}), original), kVerified);
}

TEST(LocalFeaturesTest, DamagedEncodingsCountAsNoFeatures) {
  const std::string q = Query("queries/q_0011.jpg"), s = Stored("originals/o_003.jpg");
  ASSERT_GE(CountInliers(q, s), kVerified);
  EXPECT_EQ(CountInliers("", s), 0);
  EXPECT_EQ(CountInliers(q, ""), 0);
  EXPECT_EQ(CountInliers(q, s.substr(0, s.size() - 1)), 0);  // truncated
  std::string wrong_version = s;
  wrong_version[0] = 9;
  EXPECT_EQ(CountInliers(q, wrong_version), 0);
  std::string huge_count = s;
  huge_count[2] = huge_count[3] = char(0xff);  // claims 65,535 points
  EXPECT_EQ(CountInliers(q, huge_count), 0);
  EXPECT_EQ(ExtractLocalFeatures(cv::Mat(), {}), "");
  // A flat image has no keypoints: a valid, empty set.
  cv::Mat flat(300, 300, CV_8UC3, cv::Scalar(128, 128, 128));
  EXPECT_EQ(CountInliers(ExtractLocalFeatures(flat, {}), s), 0);
}

}  // namespace
}  // namespace iss::features
