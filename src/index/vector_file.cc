// VectorFile: pwrite() appends, MAP_SHARED reads (Linux's page cache makes the
// written bytes visible through the map at once). The map covers more rows
// than the file holds; when it is outgrown a larger one is made and the old one
// kept, so readers holding an old base pointer never fault. Half-float kernels:
// F16C conversions with AVX2/FMA arithmetic, or GCC's portable _Float16.
#include "index/vector_file.h"

#include <fcntl.h>
#include <immintrin.h>
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

constexpr float kHalfMax = 65504.0f;

float Clamp(float x) { return std::isnan(x) ? 0.0f : std::clamp(x, -kHalfMax, kHalfMax); }

void ToHalfPortable(const float* in, uint16_t* out, int n) {
  for (int i = 0; i < n; ++i) {
    const _Float16 h = static_cast<_Float16>(Clamp(in[i]));
    std::memcpy(out + i, &h, 2);
  }
}

void FromHalfPortable(const uint16_t* in, float* out, int n) {
  for (int i = 0; i < n; ++i) {
    _Float16 h;
    std::memcpy(&h, in + i, 2);
    out[i] = static_cast<float>(h);
  }
}

float DotHalfPortable(const float* q, const uint16_t* row, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) {
    _Float16 h;
    std::memcpy(&h, row + i, 2);
    s += q[i] * static_cast<float>(h);
  }
  return s;
}

__attribute__((target("avx2,fma,f16c")))
void ToHalfF16c(const float* in, uint16_t* out, int n) {
  int i = 0;
  const __m256 hi = _mm256_set1_ps(kHalfMax), lo = _mm256_set1_ps(-kHalfMax);
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(in + i);
    x = _mm256_and_ps(x, _mm256_cmp_ps(x, x, _CMP_ORD_Q));  // NaN -> 0, as Clamp()
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  if (i < n) ToHalfPortable(in + i, out + i, n - i);
}

__attribute__((target("avx2,fma,f16c")))
void FromHalfF16c(const uint16_t* in, float* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  if (i < n) FromHalfPortable(in + i, out + i, n - i);
}

__attribute__((target("avx2,fma,f16c")))
float DotHalfF16c(const float* q, const uint16_t* row, int n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 r0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i)));
    const __m256 r1 =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i + 8)));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), r0, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), r1, a1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 r0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i)));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), r0, a0);
  }
  a0 = _mm256_add_ps(a0, a1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  float sum = _mm_cvtss_f32(s);
  if (i < n) sum += DotHalfPortable(q + i, row + i, n - i);
  return sum;
}

struct Kernels {
  void (*to_half)(const float*, uint16_t*, int);
  void (*from_half)(const uint16_t*, float*, int);
  float (*dot)(const float*, const uint16_t*, int);
};

const Kernels& Pick() {
  static const Kernels k = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c")) {
      return Kernels{ToHalfF16c, FromHalfF16c, DotHalfF16c};
    }
    return Kernels{ToHalfPortable, FromHalfPortable, DotHalfPortable};
  }();
  return k;
}

}  // namespace

void ToHalf(const float* in, uint16_t* out, int n) { Pick().to_half(in, out, n); }
void FromHalf(const uint16_t* in, float* out, int n) { Pick().from_half(in, out, n); }
float DotHalf(const float* q, const uint16_t* row, int n) { return Pick().dot(q, row, n); }

absl::StatusOr<std::unique_ptr<VectorFile>> VectorFile::Open(
    const std::string& path, int dim, size_t keep_rows) {
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
  base_.store(static_cast<const uint16_t*>(addr), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status VectorFile::Append(const float* row) {
  scratch_.resize(dim_);
  ToHalf(row, scratch_.data(), dim_);
  return AppendHalf(scratch_.data());
}

absl::Status VectorFile::AppendHalf(const uint16_t* row) {
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

absl::Status VectorFile::Sync() {
  if (::fdatasync(fd_) != 0) return SysError("fdatasync");
  return absl::OkStatus();
}

}  // namespace iss::index
