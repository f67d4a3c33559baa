// An append-only file of fixed-size rows of IEEE half floats (2 bytes a
// dimension), read through a shared memory map: the vectors the tiered index
// re-ranks with and scans its exact tiers from. Half precision halves the disk
// and the page cache a re-rank touches (for L2-normalised vectors the inner
// product moves by ~1e-4); the store keeps the float32 originals. Rows are
// never rewritten, so a row pointer stays valid for the file's lifetime (a
// grown map keeps the old mappings until destruction).
//
//   ASSIGN_OR_RETURN(auto file, VectorFile::Open(dir + "/vectors.f16", 576, 0));
//   RETURN_IF_ERROR(file->Append(vec.data()));    // row file->rows() - 1
//   float score = file->Dot(query.data(), 0);
//
// An empty path gives an unnamed temporary file (O_TMPFILE): the same code path
// for indexes that are never persisted. Thread contract: one writer at a time
// (Append/Sync are serialised by the caller); Row(), Dot(), Read() and rows()
// may run concurrently with Append() for rows below the value rows() returned.
#ifndef ISS_INDEX_VECTOR_FILE_H_
#define ISS_INDEX_VECTOR_FILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::index {

// Half-float kernels (F16C/AVX2/FMA where the CPU has them, chosen once at
// start-up; portable code otherwise). Values beyond the half range saturate.
void ToHalf(const float* in, uint16_t* out, int n);
void FromHalf(const uint16_t* in, float* out, int n);
float DotHalf(const float* q, const uint16_t* row, int n);

class VectorFile {
 public:
  // Opens or creates `path`, keeps its first `keep_rows` rows and drops the
  // rest (rows written after the last snapshot). Fails when the file holds
  // fewer than `keep_rows` whole rows.
  static absl::StatusOr<std::unique_ptr<VectorFile>> Open(
      const std::string& path, int dim, size_t keep_rows);
  ~VectorFile();
  VectorFile(const VectorFile&) = delete;
  VectorFile& operator=(const VectorFile&) = delete;

  int dim() const { return dim_; }
  size_t rows() const { return rows_.load(std::memory_order_acquire); }
  const uint16_t* Row(size_t r) const {
    return base_.load(std::memory_order_acquire) + r * dim_;
  }
  // Inner product of `q` (dim floats) with row `r`.
  float Dot(const float* q, size_t r) const { return DotHalf(q, Row(r), dim_); }
  // Row `r` as floats into out[0, dim).
  void Read(size_t r, float* out) const { FromHalf(Row(r), out, dim_); }
  size_t row_bytes() const { return row_bytes_; }
  // Appends a float row (rounded to half precision) or an already half one.
  absl::Status Append(const float* row);
  absl::Status AppendHalf(const uint16_t* row);
  // Makes every appended row durable (fdatasync).
  absl::Status Sync();
  size_t FileBytes() const { return rows() * row_bytes_; }

 private:
  VectorFile(int fd, int dim) : fd_(fd), dim_(dim), row_bytes_(size_t(dim) * 2) {}
  absl::Status MapAtLeast(size_t rows);

  const int fd_;
  const int dim_;
  const size_t row_bytes_;
  std::atomic<size_t> rows_{0};
  std::atomic<const uint16_t*> base_{nullptr};
  size_t capacity_rows_ = 0;  // rows covered by the newest mapping
  std::vector<std::pair<void*, size_t>> maps_;  // every mapping, newest last
  std::vector<uint16_t> scratch_;  // Append's converted row (writer only)
};

}  // namespace iss::index

#endif  // ISS_INDEX_VECTOR_FILE_H_
