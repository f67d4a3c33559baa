// An append-only file of fixed-size float32 rows, read through a shared memory
// map: the exact vectors the tiered index re-ranks with and scans its side
// buffer from. Rows are never rewritten, so a row pointer stays valid for the
// file's lifetime (a grown map keeps the old mappings until destruction).
//
//   ASSIGN_OR_RETURN(auto file, VectorFile::Open(dir + "/vectors.f32", 576, 0));
//   RETURN_IF_ERROR(file->Append(vec.data()));    // row file->rows() - 1
//   const float* row = file->Row(0);
//
// An empty path gives an unnamed temporary file (O_TMPFILE): the same code path
// for indexes that are never persisted. Thread contract: one writer at a time
// (Append/Sync are serialised by the caller); Row() and rows() may run
// concurrently with Append() for rows below the value rows() returned.
#ifndef ISS_INDEX_VECTOR_FILE_H_
#define ISS_INDEX_VECTOR_FILE_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace iss::index {

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
  const float* Row(size_t r) const {
    return base_.load(std::memory_order_acquire) + r * dim_;
  }
  absl::Status Append(const float* row);
  // Makes every appended row durable (fdatasync).
  absl::Status Sync();
  size_t FileBytes() const { return rows() * row_bytes_; }

 private:
  VectorFile(int fd, int dim) : fd_(fd), dim_(dim), row_bytes_(dim * 4) {}
  absl::Status MapAtLeast(size_t rows);

  const int fd_;
  const int dim_;
  const size_t row_bytes_;
  std::atomic<size_t> rows_{0};
  std::atomic<const float*> base_{nullptr};
  size_t capacity_rows_ = 0;  // rows covered by the newest mapping
  std::vector<std::pair<void*, size_t>> maps_;  // every mapping, newest last
};

}  // namespace iss::index

#endif  // ISS_INDEX_VECTOR_FILE_H_
