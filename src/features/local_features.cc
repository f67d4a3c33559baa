#include "features/local_features.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <utility>
#include <vector>

namespace iss::features {
namespace {

constexpr uint8_t kVersion = 1;
constexpr int kDescriptorBytes = 32;               // ORB: 256 bits
constexpr int kPointBytes = 4 + kDescriptorBytes;  // u16 x, u16 y, descriptor
constexpr float kFixed = 16.0f;                    // coordinates in 1/16 px

struct KeypointSet {
  std::vector<cv::Point2f> points;
  cv::Mat descriptors;  // n x 32, CV_8U
};

void PutU16(std::string& out, unsigned v) {
  out.push_back(char(v & 0xff));
  out.push_back(char((v >> 8) & 0xff));
}

unsigned GetU16(const unsigned char* p) { return unsigned(p[0]) | (unsigned(p[1]) << 8); }

void AppendSet(const cv::Mat& gray, int max_features, std::string& out) {
  cv::Ptr<cv::ORB> orb = cv::ORB::create(max_features);
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
  orb->detectAndCompute(gray, cv::noArray(), keypoints, descriptors);
  if (descriptors.rows != int(keypoints.size()) || descriptors.cols != kDescriptorBytes ||
      descriptors.type() != CV_8U) {
    keypoints.clear();
  }
  const size_t n = std::min<size_t>(keypoints.size(), 0xffff);
  PutU16(out, unsigned(n));
  for (size_t i = 0; i < n; ++i) {
    const cv::Point2f& p = keypoints[i].pt;
    PutU16(out, unsigned(std::clamp(std::lround(p.x * kFixed), 0L, 0xffffL)));
    PutU16(out, unsigned(std::clamp(std::lround(p.y * kFixed), 0L, 0xffffL)));
    out.append(reinterpret_cast<const char*>(descriptors.ptr(int(i))), kDescriptorBytes);
  }
}

// The sets of an encoding; empty when it does not parse.
std::vector<KeypointSet> Parse(std::string_view bytes) {
  std::vector<KeypointSet> sets;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t left = bytes.size();
  if (left < 2 || p[0] != kVersion) return {};
  const int count = p[1];
  p += 2;
  left -= 2;
  for (int s = 0; s < count; ++s) {
    if (left < 2) return {};
    const size_t n = GetU16(p);
    p += 2;
    left -= 2;
    if (left < n * kPointBytes) return {};
    KeypointSet set;
    set.points.reserve(n);
    set.descriptors.create(int(n), kDescriptorBytes, CV_8U);
    for (size_t i = 0; i < n; ++i, p += kPointBytes) {
      set.points.emplace_back(float(GetU16(p)) / kFixed, float(GetU16(p + 2)) / kFixed);
      std::copy(p + 4, p + kPointBytes, set.descriptors.ptr(int(i)));
    }
    left -= n * kPointBytes;
    sets.push_back(std::move(set));
  }
  return sets;
}

// Positions of `points` (the inliers) in 3 px cells, counted once each.
size_t DistinctCells(const std::vector<cv::Point2f>& points, const std::vector<uchar>& inlier) {
  std::set<std::pair<long, long>> cells;
  for (size_t i = 0; i < points.size(); ++i) {
    if (inlier[i]) cells.emplace(std::lround(points[i].x / 3), std::lround(points[i].y / 3));
  }
  return cells.size();
}

int Inliers(const KeypointSet& a, const KeypointSet& b) {
  if (a.points.size() < 3 || b.points.size() < 3) return 0;
  cv::BFMatcher matcher(cv::NORM_HAMMING);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(a.descriptors, b.descriptors, knn, 2);
  std::vector<cv::Point2f> src, dst;
  for (const auto& m : knn) {
    if (m.size() == 2 && m[0].distance < 0.8f * m[1].distance) {
      src.push_back(a.points[m[0].queryIdx]);
      dst.push_back(b.points[m[0].trainIdx]);
    }
  }
  if (src.size() < 4) return 0;
  std::vector<uchar> inlier;
  cv::Mat t = cv::estimateAffinePartial2D(src, dst, inlier, cv::RANSAC, 4.0);
  if (t.empty()) return 0;
  // A similarity [s R | t]: its scale is sqrt(|det|). Far from 1 it is a collapse of many
  // points onto a few, not the same picture.
  const double det =
      t.at<double>(0, 0) * t.at<double>(1, 1) - t.at<double>(0, 1) * t.at<double>(1, 0);
  const double scale = std::sqrt(std::abs(det));
  if (!(scale >= 0.25 && scale <= 4.0)) return 0;
  return int(std::min(DistinctCells(src, inlier), DistinctCells(dst, inlier)));
}

}  // namespace

std::string ExtractLocalFeatures(const cv::Mat& bgr, const LocalFeatureOptions& options) {
  if (bgr.empty()) return {};
  cv::Mat gray;
  if (bgr.channels() == 3) {
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  } else if (bgr.channels() == 4) {
    cv::cvtColor(bgr, gray, cv::COLOR_BGRA2GRAY);
  } else {
    gray = bgr;
  }
  const int longest = std::max(gray.cols, gray.rows);
  if (longest > options.side) {
    const double f = double(options.side) / longest;
    cv::resize(gray, gray, cv::Size(), f, f, cv::INTER_AREA);
  }
  std::string out;
  out.push_back(char(kVersion));
  out.push_back(char(options.with_mirror ? 2 : 1));
  AppendSet(gray, options.max_features, out);
  if (options.with_mirror) {
    cv::Mat mirrored;
    cv::flip(gray, mirrored, 1);
    AppendSet(mirrored, options.max_features, out);
  }
  return out;
}

int CountInliers(std::string_view query, std::string_view stored) {
  std::vector<KeypointSet> q = Parse(query), s = Parse(stored);
  if (q.empty() || s.empty()) return 0;
  int best = 0;
  for (const KeypointSet& set : q) best = std::max(best, Inliers(set, s[0]));
  return best;
}

}  // namespace iss::features
