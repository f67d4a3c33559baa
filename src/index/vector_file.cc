// VectorFile: pwrite() appends, MAP_SHARED reads (Linux's page cache makes the
// written bytes visible through the map at once). The map covers more rows
// than the file holds; when it is outgrown a larger one is made and the old one
// kept, so readers holding an old base pointer never fault.
#include "index/vector_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "common/status_macros.h"

namespace iss::index {
namespace {

absl::Status SysError(const std::string& what) {
  return Error("IS.0009", "(vector file: " + what + ": " + std::strerror(errno) + ")");
}

constexpr float kLevels = 32767.0f;

__attribute__((target_clones("avx2", "default"))) float DotI16(const float* q, const int16_t* v,
                                                               int n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += q[i] * float(v[i]);
  return s;
}

}  // namespace

size_t RowBytes(int dim) { return sizeof(float) + size_t(dim) * sizeof(int16_t); }

void EncodeRow(const float* x, int dim, uint8_t* row) {
  float max_abs = 0;
  for (int i = 0; i < dim; ++i) {
    if (std::isfinite(x[i])) max_abs = std::max(max_abs, std::fabs(x[i]));
  }
  const float scale = max_abs / kLevels;
  const float inv = max_abs > 0 ? kLevels / max_abs : 0.0f;
  std::memcpy(row, &scale, sizeof(scale));
  auto* v = reinterpret_cast<int16_t*>(row + sizeof(float));
  for (int i = 0; i < dim; ++i) {
    const float q = std::isfinite(x[i]) ? std::nearbyint(x[i] * inv) : 0.0f;
    v[i] = int16_t(std::clamp(q, -kLevels, kLevels));
  }
}

void DecodeRow(const uint8_t* row, int dim, float* x) {
  float scale;
  std::memcpy(&scale, row, sizeof(scale));
  const auto* v = reinterpret_cast<const int16_t*>(row + sizeof(float));
  for (int i = 0; i < dim; ++i) x[i] = scale * float(v[i]);
}

float DotRow(const float* q, const uint8_t* row, int dim) {
  float scale;
  std::memcpy(&scale, row, sizeof(scale));
  return scale * DotI16(q, reinterpret_cast<const int16_t*>(row + sizeof(float)), dim);
}

absl::StatusOr<std::unique_ptr<VectorFile>> VectorFile::Open(const std::string& path, int dim,
                                                             size_t keep_rows) {
  int fd = path.empty() ? ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)
                        : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && path.empty()) {  // no O_TMPFILE on this file system: create and unlink
    char name[] = "/tmp/iss-vectors-XXXXXX";
    fd = ::mkostemp(name, O_CLOEXEC);
    if (fd >= 0) ::unlink(name);
  }
  if (fd < 0) return SysError("open " + (path.empty() ? "/tmp" : path));
  std::unique_ptr<VectorFile> f(new VectorFile(fd, dim));
  struct stat st;
  if (::fstat(fd, &st) != 0) return SysError("stat");
  const size_t want = keep_rows * f->row_bytes_;
  if (size_t(st.st_size) < want) {
    return Error("IS.0009", "(vector file holds " + std::to_string(st.st_size) +
                                " bytes, the snapshot needs " + std::to_string(want) + ")");
  }
  if (size_t(st.st_size) != want && ::ftruncate(fd, off_t(want)) != 0) {
    return SysError("truncate");
  }
  RETURN_IF_ERROR(f->MapAtLeast(keep_rows));
  f->rows_.store(keep_rows, std::memory_order_release);
  return f;
}

VectorFile::~VectorFile() {
  for (auto& [addr, len] : maps_) ::munmap(addr, len);
  ::close(fd_);
}

absl::Status VectorFile::MapAtLeast(size_t rows) {
  if (rows <= capacity_rows_ && !maps_.empty()) return absl::OkStatus();
  size_t cap = std::max<size_t>({rows + rows / 2, capacity_rows_ * 2, 4096});
  size_t len = cap * row_bytes_;
  void* addr = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, 0);
  if (addr == MAP_FAILED) return SysError("mmap");
  maps_.emplace_back(addr, len);
  capacity_rows_ = cap;
  base_.store(static_cast<const uint8_t*>(addr), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status VectorFile::Append(const float* x) {
  scratch_.resize(row_bytes_);
  EncodeRow(x, dim_, scratch_.data());
  return AppendRow(scratch_.data());
}

absl::Status VectorFile::AppendRow(const uint8_t* row) {
  size_t r = rows_.load(std::memory_order_relaxed);
  RETURN_IF_ERROR(MapAtLeast(r + 1));
  const char* p = reinterpret_cast<const char*>(row);
  size_t done = 0;
  while (done < row_bytes_) {
    ssize_t n = ::pwrite(fd_, p + done, row_bytes_ - done, off_t(r * row_bytes_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SysError("write");
    done += size_t(n);
  }
  rows_.store(r + 1, std::memory_order_release);
  return absl::OkStatus();
}

size_t VectorFile::Resident(const std::vector<size_t>& rows) const {
  static const uintptr_t kPage = uintptr_t(::sysconf(_SC_PAGESIZE));
  size_t n = 0;
  for (size_t r : rows) {
    const auto addr = reinterpret_cast<uintptr_t>(Row(r)) & ~(kPage - 1);
    unsigned char in = 0;
    if (::mincore(reinterpret_cast<void*>(addr), kPage, &in) == 0 && (in & 1)) ++n;
  }
  return n;
}

size_t VectorFile::Preload(const std::function<bool()>& stop) const {
  constexpr size_t kStep = size_t(8) << 20;
  std::vector<char> buf(kStep);
  const size_t total = FileBytes();
  size_t done = 0;
  while (done < total && !stop()) {
    ssize_t n = ::pread(fd_, buf.data(), std::min(kStep, total - done), off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  return done;
}

absl::Status VectorFile::Sync() {
  if (::fdatasync(fd_) != 0) return SysError("fdatasync");
  return absl::OkStatus();
}

}  // namespace iss::index
