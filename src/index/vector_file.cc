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
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "common/status_macros.h"

namespace iss::index {
namespace {

absl::Status SysError(const std::string& what) {
  return Error("IS.0009", "(vector file: " + what + ": " + std::strerror(errno) + ")");
}

}  // namespace

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
  base_.store(static_cast<const float*>(addr), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status VectorFile::Append(const float* row) {
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
