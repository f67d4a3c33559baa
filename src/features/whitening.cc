// Whitening: learn (covariance + symmetric eigen-decomposition, OpenCV), load, save and
// apply the centring + PCA-whitening transform of a model's vectors.
#include "features/whitening.h"

#include <openssl/evp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>

#include "common/status.h"

namespace iss::features {
namespace {

constexpr char kMagic[8] = {'I', 'S', 'S', 'W', 'H', 'T', '1', '\0'};
constexpr uint32_t kMaxDim = 1 << 14;

void L2(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += double(x) * x;
  n = std::sqrt(n);
  if (n > 1e-12) {
    for (float& x : v) x = float(x / n);
  }
}

// Rows of `vectors` (eigenvectors) with a deterministic sign: the largest entry positive.
void FixSigns(cv::Mat& vectors) {
  for (int k = 0; k < vectors.rows; ++k) {
    int arg = 0;
    for (int j = 1; j < vectors.cols; ++j) {
      if (std::fabs(vectors.at<double>(k, j)) > std::fabs(vectors.at<double>(k, arg))) arg = j;
    }
    if (vectors.at<double>(k, arg) < 0) vectors.row(k) *= -1.0;
  }
}

// `samples` as an n x d CV_64F matrix; empty when they differ in size.
cv::Mat ToMat(const std::vector<std::vector<float>>& samples, int d) {
  cv::Mat x(int(samples.size()), d, CV_64F);
  for (size_t i = 0; i < samples.size(); ++i) {
    if (int(samples[i].size()) != d) return cv::Mat();
    for (int j = 0; j < d; ++j) x.at<double>(int(i), j) = samples[i][j];
  }
  return x;
}

// The entries of a CV_64F matrix, row-major, as floats.
std::vector<float> Floats(const cv::Mat& m) {
  std::vector<float> out;
  out.reserve(m.total());
  for (int i = 0; i < m.rows; ++i) {
    for (int j = 0; j < m.cols; ++j) out.push_back(float(m.at<double>(i, j)));
  }
  return out;
}

// Subtracts the column means from every row of `x`; returns them (1 x d).
cv::Mat Centre(cv::Mat& x) {
  cv::Mat mean;
  cv::reduce(x, mean, 0, cv::REDUCE_AVG, CV_64F);
  for (int i = 0; i < x.rows; ++i) x.row(i) -= mean;
  return mean;
}

// (lambda + shrink * mean(lambda))^(-1/2) for each eigenvalue (negative ones count as 0).
std::vector<double> ShrunkInverseSqrt(const cv::Mat& values, double shrink) {
  const int d = int(values.total());
  double mean_value = 0;
  for (int j = 0; j < d; ++j) mean_value += std::max(0.0, values.at<double>(j)) / d;
  std::vector<double> inv(d);
  for (int j = 0; j < d; ++j) {
    const double lambda = std::max(0.0, values.at<double>(j)) + shrink * mean_value;
    inv[j] = lambda > 0 ? 1.0 / std::sqrt(lambda) : 0.0;
  }
  return inv;
}

}  // namespace

std::string FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

absl::StatusOr<Whitening> Whitening::Learn(const std::vector<std::vector<float>>& samples,
                                           int out_dim, double shrink, double power) {
  if (samples.size() < 2) return Fail(Reason::kInvalidArgument, "(whitening: < 2 samples)");
  const int d = int(samples[0].size());
  if (out_dim <= 0 || out_dim > d) {
    return Fail(Reason::kInvalidArgument, "(whitening: out_dim must be in 1..in_dim)");
  }
  cv::Mat x = ToMat(samples, d);
  if (x.empty()) return Fail(Reason::kInvalidArgument, "(whitening: samples differ in dimension)");
  cv::Mat mean = Centre(x);
  cv::Mat cov = x.t() * x / double(x.rows - 1);
  cv::Mat values, vectors;  // descending eigenvalues; eigenvectors as rows
  cv::eigen(cov, values, vectors);
  FixSigns(vectors);
  const std::vector<double> inv = ShrunkInverseSqrt(values, shrink);
  cv::Mat p = vectors.rowRange(0, out_dim).clone();
  for (int k = 0; k < out_dim; ++k) p.row(k) *= inv[k];
  return Make(d, out_dim, power, Floats(mean), Floats(p));
}

absl::StatusOr<Whitening> Whitening::LearnFromPairs(const std::vector<std::vector<float>>& samples,
                                                    const std::vector<std::vector<float>>& copies,
                                                    const std::vector<size_t>& copy_of, int out_dim,
                                                    double shrink, double power) {
  if (samples.size() < 2 || copies.size() < 2 || copies.size() != copy_of.size()) {
    return Fail(Reason::kInvalidArgument, "(whitening: needs >= 2 samples and copy pairs)");
  }
  const int d = int(samples[0].size());
  if (out_dim <= 0 || out_dim > d) {
    return Fail(Reason::kInvalidArgument, "(whitening: out_dim must be in 1..in_dim)");
  }
  cv::Mat x = ToMat(samples, d), c = ToMat(copies, d);
  if (x.empty() || c.empty()) {
    return Fail(Reason::kInvalidArgument, "(whitening: samples differ in dimension)");
  }
  cv::Mat diff(c.rows, d, CV_64F);
  for (int i = 0; i < c.rows; ++i) {
    if (copy_of[i] >= samples.size()) {
      return Fail(Reason::kInvalidArgument, "(whitening: a copy of no sample)");
    }
    diff.row(i) = x.row(int(copy_of[i])) - c.row(i);
  }
  // Stage 1: (Cs + shrink * mean eigenvalue)^(-1/2), Cs the pairs' difference covariance.
  cv::Mat cs = diff.t() * diff / double(diff.rows);
  cv::Mat s_values, s_vectors;
  cv::eigen(cs, s_values, s_vectors);
  const std::vector<double> inv = ShrunkInverseSqrt(s_values, shrink);
  cv::Mat scale = cv::Mat::zeros(d, d, CV_64F);
  for (int j = 0; j < d; ++j) scale.at<double>(j, j) = inv[j];
  cv::Mat p1 = s_vectors.t() * scale * s_vectors;  // symmetric
  // Stage 2: principal axes of the centred, stage-1-whitened samples.
  cv::Mat mean = Centre(x);
  cv::Mat y = x * p1;  // p1 is symmetric: rows are p1 (x - mu)
  cv::Mat cd = y.t() * y / double(y.rows - 1);
  cv::Mat d_values, d_vectors;
  cv::eigen(cd, d_values, d_vectors);
  FixSigns(d_vectors);
  return Make(d, out_dim, power, Floats(mean), Floats(d_vectors.rowRange(0, out_dim) * p1));
}

Whitening Whitening::Make(int in_dim, int out_dim, double power, std::vector<float> mean,
                          std::vector<float> projection) {
  Whitening w;
  w.in_dim_ = in_dim;
  w.out_dim_ = out_dim;
  w.power_ = power;
  w.mean_ = std::move(mean);
  w.w_ = std::move(projection);
  return w;
}

absl::StatusOr<Whitening> Whitening::Load(const std::string& path, int in_dim,
                                          const std::string& sha256_hex, double power) {
  auto bad = [&](const std::string& what) {
    return Fail(Reason::kModelUnavailable, "(whitening " + path + ": " + what + ")");
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot be read");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!sha256_hex.empty() && FileSha256(path) != sha256_hex) {
    return bad("SHA-256 differs from the model's `whitening_sha256`");
  }
  uint32_t din = 0, dout = 0;
  if (bytes.size() < 16 || std::memcmp(bytes.data(), kMagic, 8) != 0) return bad("not a file");
  std::memcpy(&din, bytes.data() + 8, 4);
  std::memcpy(&dout, bytes.data() + 12, 4);
  if (din == 0 || din > kMaxDim || dout == 0 || dout > din) return bad("bad dimensions");
  if (int(din) != in_dim) {
    return bad("made for " + std::to_string(din) + "-d vectors, the model gives " +
               std::to_string(in_dim));
  }
  const size_t floats = size_t(din) + size_t(din) * dout;
  if (bytes.size() != 16 + floats * 4) return bad("size does not match its dimensions");
  Whitening w;
  w.in_dim_ = int(din);
  w.out_dim_ = int(dout);
  w.power_ = power;
  w.mean_.resize(din);
  w.w_.resize(size_t(din) * dout);
  std::memcpy(w.mean_.data(), bytes.data() + 16, size_t(din) * 4);
  std::memcpy(w.w_.data(), bytes.data() + 16 + size_t(din) * 4, w.w_.size() * 4);
  for (float f : w.w_) {
    if (!std::isfinite(f)) return bad("holds a non-finite weight");
  }
  for (float f : w.mean_) {
    if (!std::isfinite(f)) return bad("holds a non-finite mean");
  }
  return w;
}

absl::Status Whitening::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint32_t din = uint32_t(in_dim_), dout = uint32_t(out_dim_);
  out.write(kMagic, 8);
  out.write(reinterpret_cast<const char*>(&din), 4);
  out.write(reinterpret_cast<const char*>(&dout), 4);
  out.write(reinterpret_cast<const char*>(mean_.data()), std::streamsize(mean_.size() * 4));
  out.write(reinterpret_cast<const char*>(w_.data()), std::streamsize(w_.size() * 4));
  out.close();
  if (!out) return Fail(Reason::kInternal, "(cannot write " + path + ")");
  return absl::OkStatus();
}

void Whitening::Apply(std::vector<float>& v) const {
  std::vector<double> centred(in_dim_);
  for (int j = 0; j < in_dim_ && j < int(v.size()); ++j) centred[j] = double(v[j]) - mean_[j];
  std::vector<float> out(out_dim_);
  for (int k = 0; k < out_dim_; ++k) {
    const float* row = w_.data() + size_t(k) * in_dim_;
    double s = 0;
    for (int j = 0; j < in_dim_; ++j) s += row[j] * centred[j];
    out[k] = float(s);
  }
  if (power_ != 1.0) {
    for (float& x : out) x = float(std::copysign(std::pow(std::fabs(x), power_), x));
  }
  L2(out);
  v = std::move(out);
}

}  // namespace iss::features
