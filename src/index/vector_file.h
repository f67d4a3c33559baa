// VectorFile: an append-only file of fixed-size rows, each a vector quantised to 16-bit
// integers with its own scale (4 + 2 x dim bytes), read through shared memory maps: the
// vectors the tiered index re-ranks with and scans its exact tiers from. Half the disk and
// page cache of float32; the error of a value is at most max|x| / 65534, so an inner product
// of unit vectors moves by ~1e-6 (a tenth to a thirtieth of what IEEE half floats cost;
// dense near-duplicate neighbourhoods need that). The store keeps the float32 originals.
// RowBits::k8 halves that again (4 + dim bytes; error max|x| / 254) for instances whose
// 16-bit file would not fit in the page cache (docs/scaling.md has what it costs).
// Rows are never rewritten, so a row pointer stays valid for the file's lifetime (a grown
// map keeps the old mappings until destruction). All I/O goes through an iss::Env
// (RowFile + MappedRegion).
//
//   ASSIGN_OR_RETURN(auto file, VectorFile::Open(env, dir + "/vectors-1.q16", 576, 0));
//   RETURN_IF_ERROR(file->Append(vec.data()));    // row file->rows() - 1
//   RETURN_IF_ERROR(file->Sync());                // rows durable (the entry: SyncDir)
//   float score = file->Dot(query.data(), 0);
//
// An empty path gives an anonymous temporary file: the same code path for indexes that are
// never persisted. Thread contract: one writer at a time (Append/Sync are serialised by the
// caller); Row(), Dot(), Read(), Resident() and rows() may run concurrently with Append()
// for rows below the value rows() returned.
#ifndef ISS_INDEX_VECTOR_FILE_H_
#define ISS_INDEX_VECTOR_FILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/env.h"

namespace iss::index {

// How a row stores its values: 16 or 8 bits each. One row: float32 scale s, then dim
// integers v (int16 or int8) with x[i] ~= s * v[i].
enum class RowBits : int { k16 = 16, k8 = 8 };
size_t RowBytes(int dim, RowBits bits = RowBits::k16);
// Non-finite values are stored as 0.
void EncodeRow(const float* x, int dim, uint8_t* row, RowBits bits = RowBits::k16);
void DecodeRow(const uint8_t* row, int dim, float* x, RowBits bits = RowBits::k16);
// Inner product of `q` with a row (AVX2 where the CPU has it).
float DotRow(const float* q, const uint8_t* row, int dim, RowBits bits = RowBits::k16);

class VectorFile {
 public:
  // Opens or creates `path` through `env`, keeps its first `keep_rows` rows and drops the
  // rest (rows written after the last snapshot); reads the kept rows once for crc() unless
  // `checksum` is false (crc() is then meaningless). Fails (kCorrupt) when the file holds
  // fewer than `keep_rows` whole rows; storage errors are the Env's.
  static absl::StatusOr<std::unique_ptr<VectorFile>> Open(Env* env, const std::string& path,
                                                          int dim, size_t keep_rows,
                                                          RowBits bits = RowBits::k16,
                                                          bool checksum = true);
  ~VectorFile();
  VectorFile(const VectorFile&) = delete;
  VectorFile& operator=(const VectorFile&) = delete;

  int dim() const { return dim_; }
  RowBits bits() const { return bits_; }
  // CRC-32 of the rows [0, rows()): of the kept rows as read by Open, then of every row
  // appended. Read it where Append is serialised (the writer's lock).
  uint32_t crc() const { return crc_; }
  size_t rows() const { return rows_.load(std::memory_order_acquire); }
  const uint8_t* Row(size_t r) const {
    return base_.load(std::memory_order_acquire) + r * row_bytes_;
  }
  // Inner product of `q` (dim floats) with row `r`.
  float Dot(const float* q, size_t r) const { return DotRow(q, Row(r), dim_, bits_); }
  // Row `r` as floats into x[0, dim).
  void Read(size_t r, float* x) const { DecodeRow(Row(r), dim_, x, bits_); }
  size_t row_bytes() const { return row_bytes_; }
  // Appends a float row (quantised) or an already encoded one.
  absl::Status Append(const float* x);
  absl::Status AppendRow(const uint8_t* row);
  // Removes the row the last Append added (its twin in another file failed). REQUIRES:
  // no reader was given that row.
  absl::Status DropLast();
  // How many of `rows` have their first byte in the page cache (mincore).
  size_t Resident(const std::vector<size_t>& rows) const;
  // Starts reading `rows` from disk, all at once, without waiting (a hint).
  void WillNeed(const std::vector<size_t>& rows) const;
  // Reads the whole file once, sequentially, so its pages are in the page
  // cache; stops early when `stop()` turns true. Returns the bytes read.
  size_t Preload(const std::function<bool()>& stop) const;
  // Makes every appended row durable (RowFile::Sync, fdatasync).
  absl::Status Sync();
  size_t FileBytes() const { return rows() * row_bytes_; }

 private:
  VectorFile(Env* env, std::unique_ptr<RowFile> file, std::string path, int dim, RowBits bits);
  absl::Status MapAtLeast(size_t rows);

  Env* const env_;
  const std::unique_ptr<RowFile> file_;
  const std::string path_;  // empty: anonymous
  const int dim_;
  const RowBits bits_;
  const size_t row_bytes_;
  std::atomic<size_t> rows_{0};
  std::atomic<const uint8_t*> base_{nullptr};
  std::atomic<const MappedRegion*> newest_{nullptr};  // the mapping base_ points into
  size_t capacity_rows_ = 0;                          // rows covered by the newest mapping
  std::vector<std::unique_ptr<MappedRegion>> maps_;   // every mapping, newest last (writer)
  std::vector<uint8_t> scratch_;                      // Append's encoded row (writer only)
  uint32_t crc_ = 0;                                  // of rows [0, rows_) (writer only)
  uint32_t crc_before_last_ = 0;                      // crc_ before the last append
};

}  // namespace iss::index

#endif  // ISS_INDEX_VECTOR_FILE_H_
