// Buffered, checksummed readers and writers over Env files, which are also Faiss's
// IOReader/IOWriter: the snapshot files (ours and Faiss's serialised ANN tier) go through
// them, so every byte is in the CRC-32 and every file operation goes through the Env.
//
//   ChecksummedWriter w(file.get());           // file: an Env WritableFile
//   faiss::write_index(ann, &w);  w.Put(uint64_t(rows));
//   RETURN_IF_ERROR(w.Flush());                // then Sync, Close
//   uint32_t crc = w.crc();
//
// A failed read or write makes every later call return 0 items (Faiss then throws) and is
// kept in status(): the Env's own reason (kStorage, kNoSpace) beats Faiss's message.
// Thread contract: one thread at a time per object.
#ifndef ISS_INDEX_INTERNAL_CHECKSUMMED_IO_H_
#define ISS_INDEX_INTERNAL_CHECKSUMMED_IO_H_

#include <faiss/impl/io.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/env.h"

namespace iss::index::internal {

// zlib's CRC-32, any length (zlib takes at most 4 GiB a call). Crc32(Crc32Init(), p, n).
uint32_t Crc32Init();
uint32_t Crc32(uint32_t crc, const void* p, size_t len);

// The CRC-32 of the first `len` bytes of `path`, read through a fixed buffer (memory does
// not grow with `len`). Fails (kCorrupt) when the file holds fewer bytes.
absl::StatusOr<uint32_t> FileCrc32(Env* env, const std::string& path, uint64_t len);

class ChecksummedWriter : public faiss::IOWriter {
 public:
  explicit ChecksummedWriter(WritableFile* file);
  size_t operator()(const void* p, size_t size, size_t n) override;
  template <typename T>
  void Put(const T& v) {
    (*this)(&v, sizeof(T), 1);
  }
  template <typename T>
  void PutVector(const std::vector<T>& v, size_t n) {
    if (n) (*this)(v.data(), sizeof(T), n);
  }
  // Writes out what is buffered. Returns the first failure of any write.
  absl::Status Flush();
  uint32_t crc() const { return crc_; }
  size_t bytes() const { return bytes_; }
  const absl::Status& status() const { return status_; }

 private:
  WritableFile* file_;
  std::string buf_;
  uint32_t crc_;
  size_t bytes_ = 0;
  absl::Status status_;
};

class ChecksummedReader : public faiss::IOReader {
 public:
  // `checksum` false: bytes are counted but not checksummed (a file already verified).
  explicit ChecksummedReader(SequentialFile* file, bool checksum = true);
  size_t operator()(void* p, size_t size, size_t n) override;
  template <typename T>
  bool Get(T* v) {
    return (*this)(v, sizeof(T), 1) == 1;
  }
  // REQUIRES: `n` checked against the file's size (this allocates n elements).
  template <typename T>
  bool GetVector(std::vector<T>* v, size_t n) {
    v->resize(n);
    return n == 0 || (*this)(v->data(), sizeof(T), n) == n;
  }
  // Reads and checksums the next `n` bytes without keeping them; false at a short read.
  bool Skip(uint64_t n);
  uint32_t crc() const { return crc_; }
  size_t bytes() const { return bytes_; }
  const absl::Status& status() const { return status_; }

 private:
  // Copies up to `n` bytes out of the buffer, refilling it; returns how many.
  size_t Read(char* p, size_t n);

  SequentialFile* file_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  const bool checksum_;
  uint32_t crc_;
  size_t bytes_ = 0;
  bool eof_ = false;
  absl::Status status_;
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_CHECKSUMMED_IO_H_
