#include "index/internal/checksummed_io.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/status.h"
#include "common/status_macros.h"

namespace iss::index::internal {
namespace {

constexpr size_t kBuffer = size_t(1) << 20;

}  // namespace

uint32_t Crc32Init() { return uint32_t(::crc32(0, nullptr, 0)); }

uint32_t Crc32(uint32_t crc, const void* p, size_t len) {
  const auto* b = static_cast<const Bytef*>(p);
  while (len > 0) {
    const uInt step = uInt(std::min<size_t>(len, 1u << 30));
    crc = uint32_t(::crc32(crc, b, step));
    b += step;
    len -= step;
  }
  return crc;
}

absl::StatusOr<uint32_t> FileCrc32(Env* env, const std::string& path, uint64_t len) {
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(path));
  ChecksummedReader r(f.get());
  if (!r.Skip(len)) {
    if (!r.status().ok()) return r.status();
    return Fail(Reason::kCorrupt, "(" + path + " is shorter than its recorded size)");
  }
  return r.crc();
}

ChecksummedWriter::ChecksummedWriter(WritableFile* file) : file_(file), crc_(Crc32Init()) {
  buf_.reserve(kBuffer);
}

size_t ChecksummedWriter::operator()(const void* p, size_t size, size_t n) {
  if (size == 0 || n == 0) return n;  // Faiss writes empty vectors (p may be null)
  if (!status_.ok()) return 0;
  const size_t len = size * n;
  crc_ = Crc32(crc_, p, len);
  bytes_ += len;
  if (buf_.size() + len > kBuffer) {
    if (!Flush().ok()) return 0;
  }
  if (len >= kBuffer) {
    status_ = file_->Append(std::string_view(static_cast<const char*>(p), len));
    return status_.ok() ? n : 0;
  }
  buf_.append(static_cast<const char*>(p), len);
  return n;
}

absl::Status ChecksummedWriter::Flush() {
  if (status_.ok() && !buf_.empty()) status_ = file_->Append(buf_);
  buf_.clear();
  return status_;
}

ChecksummedReader::ChecksummedReader(SequentialFile* file, bool checksum)
    : file_(file), buf_(kBuffer), checksum_(checksum), crc_(Crc32Init()) {}

size_t ChecksummedReader::Read(char* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    if (pos_ == end_) {
      if (eof_ || !status_.ok()) break;
      absl::StatusOr<size_t> got = file_->Read(buf_.data(), buf_.size());
      if (!got.ok()) {
        status_ = got.status();
        break;
      }
      pos_ = 0;
      end_ = *got;
      if (end_ == 0) {
        eof_ = true;
        break;
      }
    }
    const size_t step = std::min(n - done, end_ - pos_);
    if (p != nullptr) std::memcpy(p + done, buf_.data() + pos_, step);
    if (checksum_) crc_ = Crc32(crc_, buf_.data() + pos_, step);
    pos_ += step;
    done += step;
  }
  bytes_ += done;
  return done;
}

size_t ChecksummedReader::operator()(void* p, size_t size, size_t n) {
  if (size == 0 || n == 0) return n;
  return Read(static_cast<char*>(p), size * n) / size;
}

bool ChecksummedReader::Skip(uint64_t n) {
  while (n > 0) {
    const size_t step = size_t(std::min<uint64_t>(n, kBuffer));
    if (Read(nullptr, step) != step) return false;
    n -= step;
  }
  return true;
}

}  // namespace iss::index::internal
