// A learned linear transform applied to a model's pooled vector so that inner products
// become calibrated similarities: x -> W (x - mu), optional signed power, L2.
//
//   ASSIGN_OR_RETURN(Whitening w, Whitening::Load(path, /*in_dim=*/576, sha256_hex));
//   w.Apply(vector);  // 576-d in, w.out_dim() out, L2-normalised
//
// File format (little-endian), written by Whitening::Save and `imagesearch-bench
// learn-whitening`: the 8 bytes "ISSWHT1\0", uint32 in_dim, uint32 out_dim, float32
// mean[in_dim], float32 W[out_dim][in_dim] (row-major; each row is an eigenvector of the
// sample covariance divided by the square root of its shrunk eigenvalue).
// Thread contract: immutable after Load/Learn; Apply is const and thread-safe.
#ifndef ISS_FEATURES_WHITENING_H_
#define ISS_FEATURES_WHITENING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::features {

class Whitening {
 public:
  // Learns centring + PCA whitening from `samples` (each in_dim floats): keeps the
  // `out_dim` strongest components; each eigenvalue is shrunk as lambda + shrink *
  // mean(lambda) before the inverse square root (regularises the weak directions).
  // REQUIRES: at least 2 samples, 0 < out_dim <= in_dim.
  static absl::StatusOr<Whitening> Learn(const std::vector<std::vector<float>>& samples,
                                         int out_dim, double shrink, double power);
  // Learned whitening from copy pairs (Radenovic et al., "CNN image retrieval learns from
  // BoW", 2016): copies[i] is an edited copy of samples[copy_of[i]]. The differences of
  // the pairs are whitened first (their covariance, shrunk as above, to the power -1/2),
  // so the directions in which copy edits move a vector weigh least; the whitened samples
  // are then rotated onto their principal axes and the `out_dim` strongest kept.
  static absl::StatusOr<Whitening> LearnFromPairs(const std::vector<std::vector<float>>& samples,
                                                  const std::vector<std::vector<float>>& copies,
                                                  const std::vector<size_t>& copy_of, int out_dim,
                                                  double shrink, double power);
  // Reads a file in the format above. `in_dim` must match the file's; `sha256_hex`, when
  // not empty, must equal the file's SHA-256. Failures: Reason::kModelUnavailable.
  static absl::StatusOr<Whitening> Load(const std::string& path, int in_dim,
                                        const std::string& sha256_hex, double power);
  absl::Status Save(const std::string& path) const;

  int in_dim() const { return in_dim_; }
  int out_dim() const { return out_dim_; }
  double power() const { return power_; }
  // v (in_dim) -> W (v - mu), signed power (when power != 1), L2; size becomes out_dim.
  void Apply(std::vector<float>& v) const;

 private:
  // From an in_dim mean and an out_dim x in_dim row-major projection.
  static Whitening Make(int in_dim, int out_dim, double power, std::vector<float> mean,
                        std::vector<float> projection);

  int in_dim_ = 0;
  int out_dim_ = 0;
  double power_ = 1.0;
  std::vector<float> mean_;  // in_dim
  std::vector<float> w_;     // out_dim x in_dim, row-major
};

// Lower-case hex SHA-256 of a file's bytes; empty when it cannot be read.
std::string FileSha256(const std::string& path);

}  // namespace iss::features

#endif  // ISS_FEATURES_WHITENING_H_
