// VectorFile: RowFile appends, shared-map reads (Linux's page cache makes the written bytes
// visible through the map at once). The map covers more rows than the file holds; when it
// is outgrown a larger one is made and the old one kept, so readers holding an old base
// pointer never fault.
#include "index/vector_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/checksummed_io.h"
#include "index/internal/simd.h"

namespace iss::index {
namespace {

float Levels(RowBits bits) { return bits == RowBits::k16 ? 32767.0f : 127.0f; }

ISS_AVX2_CLONES float DotI16(const float* q, const int16_t* v, int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += q[i] * float(v[i]);
  return s;
}

ISS_AVX2_CLONES float DotI8(const float* q, const int8_t* v, int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += q[i] * float(v[i]);
  return s;
}

}  // namespace

size_t RowBytes(int dim, RowBits bits) {
  return sizeof(float) + size_t(dim) * (bits == RowBits::k16 ? sizeof(int16_t) : sizeof(int8_t));
}

void EncodeRow(const float* x, int dim, uint8_t* row, RowBits bits) {
  const float levels = Levels(bits);
  float max_abs = 0;
  for (int i = 0; i < dim; ++i) {
    if (std::isfinite(x[i])) max_abs = std::max(max_abs, std::fabs(x[i]));
  }
  const float scale = max_abs / levels;
  const float inv = max_abs > 0 ? levels / max_abs : 0.0f;
  std::memcpy(row, &scale, sizeof(scale));
  uint8_t* values = row + sizeof(float);
  for (int i = 0; i < dim; ++i) {
    const float q = std::isfinite(x[i]) ? std::nearbyint(x[i] * inv) : 0.0f;
    const float v = std::clamp(q, -levels, levels);
    if (bits == RowBits::k16) {
      const int16_t w = int16_t(v);
      std::memcpy(values + 2 * i, &w, 2);
    } else {
      values[i] = uint8_t(int8_t(v));
    }
  }
}

void DecodeRow(const uint8_t* row, int dim, float* x, RowBits bits) {
  float scale;
  std::memcpy(&scale, row, sizeof(scale));
  if (bits == RowBits::k16) {
    const auto* v = reinterpret_cast<const int16_t*>(row + sizeof(float));
    for (int i = 0; i < dim; ++i) x[i] = scale * float(v[i]);
  } else {
    const auto* v = reinterpret_cast<const int8_t*>(row + sizeof(float));
    for (int i = 0; i < dim; ++i) x[i] = scale * float(v[i]);
  }
}

float DotRow(const float* q, const uint8_t* row, int dim, RowBits bits) {
  float scale;
  std::memcpy(&scale, row, sizeof(scale));
  const uint8_t* v = row + sizeof(float);
  return scale * (bits == RowBits::k16 ? DotI16(q, reinterpret_cast<const int16_t*>(v), dim)
                                       : DotI8(q, reinterpret_cast<const int8_t*>(v), dim));
}

VectorFile::VectorFile(Env* env, std::unique_ptr<RowFile> file, std::string path, int dim,
                       RowBits bits)
    : env_(env),
      file_(std::move(file)),
      path_(std::move(path)),
      dim_(dim),
      bits_(bits),
      row_bytes_(RowBytes(dim, bits)) {}

VectorFile::~VectorFile() = default;

absl::StatusOr<std::unique_ptr<VectorFile>> VectorFile::Open(Env* env, const std::string& path,
                                                             int dim, size_t keep_rows,
                                                             RowBits bits, bool checksum) {
  ASSIGN_OR_RETURN(std::unique_ptr<RowFile> rows, env->OpenRowFile(path));
  std::unique_ptr<VectorFile> f(new VectorFile(env, std::move(rows), path, dim, bits));
  ASSIGN_OR_RETURN(const uint64_t size, f->file_->Size());
  const uint64_t want = uint64_t(keep_rows) * f->row_bytes_;
  if (size < want) {
    return Fail(Reason::kCorrupt, "(vector file holds " + std::to_string(size) +
                                      " bytes, the snapshot needs " + std::to_string(want) + ")");
  }
  if (size != want) RETURN_IF_ERROR(f->file_->Truncate(want));
  f->crc_ = internal::Crc32Init();
  if (want > 0 && checksum) {
    ASSIGN_OR_RETURN(f->crc_, internal::FileCrc32(env, path, want));
  }
  RETURN_IF_ERROR(f->MapAtLeast(keep_rows));
  f->rows_.store(keep_rows, std::memory_order_release);
  return f;
}

absl::Status VectorFile::MapAtLeast(size_t rows) {
  if (rows <= capacity_rows_ && !maps_.empty()) return absl::OkStatus();
  size_t cap = std::max<size_t>({rows + rows / 2, capacity_rows_ * 2, 4096});
  ASSIGN_OR_RETURN(std::unique_ptr<MappedRegion> map, file_->Map(cap * row_bytes_));
  const MappedRegion* region = map.get();
  maps_.push_back(std::move(map));
  capacity_rows_ = cap;
  newest_.store(region, std::memory_order_release);
  base_.store(region->data(), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status VectorFile::Append(const float* x) {
  scratch_.resize(row_bytes_);
  EncodeRow(x, dim_, scratch_.data(), bits_);
  return AppendRow(scratch_.data());
}

absl::Status VectorFile::AppendRow(const uint8_t* row) {
  size_t r = rows_.load(std::memory_order_relaxed);
  RETURN_IF_ERROR(MapAtLeast(r + 1));
  RETURN_IF_ERROR(file_->Append(row, row_bytes_));
  crc_before_last_ = crc_;
  crc_ = internal::Crc32(crc_, row, row_bytes_);
  rows_.store(r + 1, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status VectorFile::DropLast() {
  const size_t r = rows_.load(std::memory_order_relaxed);
  if (r == 0) return absl::OkStatus();
  RETURN_IF_ERROR(file_->Truncate(uint64_t(r - 1) * row_bytes_));
  rows_.store(r - 1, std::memory_order_release);
  crc_ = crc_before_last_;
  return absl::OkStatus();
}

void VectorFile::WillNeed(const std::vector<size_t>& rows) const {
  const MappedRegion* map = newest_.load(std::memory_order_acquire);
  std::vector<size_t> offsets;
  offsets.reserve(rows.size());
  for (size_t r : rows) offsets.push_back(r * row_bytes_);
  map->WillNeed(offsets, row_bytes_);
}

size_t VectorFile::Resident(const std::vector<size_t>& rows) const {
  const MappedRegion* map = newest_.load(std::memory_order_acquire);
  std::vector<size_t> offsets;
  offsets.reserve(rows.size());
  for (size_t r : rows) offsets.push_back(r * row_bytes_);
  return map->Resident(offsets);
}

size_t VectorFile::Preload(const std::function<bool()>& stop) const {
  constexpr size_t kStep = size_t(8) << 20;
  const size_t total = FileBytes();
  size_t done = 0;
  if (path_.empty()) {  // anonymous: fault its pages in through the map
    const volatile uint8_t* base = base_.load(std::memory_order_acquire);
    for (; done < total && !stop(); done = std::min(total, done + kStep)) {
      for (size_t b = done; b < std::min(total, done + kStep); b += 4096) (void)base[b];
    }
    return done;
  }
  absl::StatusOr<std::unique_ptr<SequentialFile>> in = env_->NewSequentialFile(path_);
  if (!in.ok()) return 0;
  std::vector<char> buf(kStep);
  while (done < total && !stop()) {
    absl::StatusOr<size_t> n = (*in)->Read(buf.data(), std::min(kStep, total - done));
    if (!n.ok() || *n == 0) break;
    done += *n;
  }
  return done;
}

absl::Status VectorFile::Sync() { return file_->Sync(); }

}  // namespace iss::index
