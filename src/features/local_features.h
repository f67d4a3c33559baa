// Local features for geometric verification (copy detection): the ORB keypoints of an
// image in a compact byte encoding stored beside its vector, and how many matches between
// two images one similarity transform (rotation, uniform scale, shift) explains.
//
//   std::string q = ExtractLocalFeatures(query_bgr, {.with_mirror = true});
//   std::string s = ExtractLocalFeatures(stored_bgr, {});
//   int n = CountInliers(q, s);  // >= ~8: the same picture, edited
//
// Encoding (little-endian): u8 version (1), u8 set count, then per set: u16 n, then n x
// (u16 x * 16, u16 y * 16, 32-byte ORB descriptor). A query carries two sets (the image and
// its mirror image); a stored image one. Anything that does not parse counts as no features
// (0 inliers): a damaged value never fails a search.
// Thread contract: stateless; every function may be called concurrently.
#ifndef ISS_FEATURES_LOCAL_FEATURES_H_
#define ISS_FEATURES_LOCAL_FEATURES_H_

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace iss::features {

struct LocalFeatureOptions {
  int max_features = 300;    // ORB keypoints kept (the strongest)
  int side = 400;            // the image is shrunk to this longest side first (never grown)
  bool with_mirror = false;  // also the horizontally mirrored image, as a second set
};

// The encoded keypoints of `bgr` (8-bit, 1 or 3 channels). Empty when `bgr` is empty.
std::string ExtractLocalFeatures(const cv::Mat& bgr, const LocalFeatureOptions& options);

// The inliers of the best similarity transform between any set of `query` and the first set
// of `stored`: ORB matches (Hamming, Lowe's ratio 0.8), RANSAC (4 px), counted as distinct
// positions (3 px cells) on both sides so that one blob of matches on a smooth area counts
// once; a transform that shrinks or grows by more than 4x counts 0 (degenerate fits).
int CountInliers(std::string_view query, std::string_view stored);

}  // namespace iss::features

#endif  // ISS_FEATURES_LOCAL_FEATURES_H_
