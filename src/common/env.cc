// Env::Default(): POSIX calls. Descriptors are O_CLOEXEC; EINTR is retried.
#include "common/env.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/status.h"
#include "common/status_macros.h"

namespace iss {
namespace {

namespace fs = std::filesystem;

absl::Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + path, errno);
    }
    p += w;
    n -= size_t(w);
  }
  return absl::OkStatus();
}

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  absl::Status Append(std::string_view data) override {
    if (fd_ < 0) return Fail(Reason::kStorage, "(append after close: " + path_ + ")");
    return WriteAll(fd_, data.data(), data.size(), path_);
  }
  absl::Status Sync() override {
    if (fd_ < 0) return Fail(Reason::kStorage, "(sync after close: " + path_ + ")");
    if (::fsync(fd_) != 0) return IoError("fsync " + path_, errno);
    return absl::OkStatus();
  }
  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return IoError("close " + path_, errno);
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixSequentialFile : public SequentialFile {
 public:
  PosixSequentialFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixSequentialFile() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::read(fd_, buf + done, n - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError("read " + path_, errno);
      }
      if (r == 0) break;
      done += size_t(r);
    }
    return done;
  }

 private:
  int fd_;
  std::string path_;
};

class PosixMappedRegion : public MappedRegion {
 public:
  PosixMappedRegion(void* base, size_t size) : base_(base), size_(size) {}
  ~PosixMappedRegion() override { ::munmap(base_, size_); }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(base_); }
  size_t size() const override { return size_; }
  size_t Resident(const std::vector<size_t>& offsets) const override {
    static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    size_t n = 0;
    for (size_t off : offsets) {
      if (off >= size_) continue;
      unsigned char v = 0;
      auto* addr = static_cast<uint8_t*>(base_) + off / page * page;
      if (::mincore(addr, 1, &v) == 0 && (v & 1)) ++n;
    }
    return n;
  }
  void WillNeed(const std::vector<size_t>& offsets, size_t length) const override {
    static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    for (size_t off : offsets) {
      if (off >= size_) continue;
      const size_t first = off / page * page, last = std::min(size_, off + length);
      (void)::madvise(static_cast<uint8_t*>(base_) + first, last - first, MADV_WILLNEED);
    }
  }

 private:
  void* base_;
  size_t size_;
};

class PosixRowFile : public RowFile {
 public:
  PosixRowFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixRowFile() override { ::close(fd_); }

  // The size is tracked here (one writer at a time): no fstat per append.
  absl::StatusOr<uint64_t> Size() override { return size_; }
  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, off_t(size)) != 0) return IoError("ftruncate " + path_, errno);
    size_ = size;
    return absl::OkStatus();
  }
  absl::Status Append(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    uint64_t end = size_;
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, off_t(end));
      if (w < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        (void)::ftruncate(fd_, off_t(size_));  // no half row left behind
        return IoError("pwrite " + path_, err);
      }
      p += w;
      n -= size_t(w);
      end += uint64_t(w);
    }
    size_ = end;
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return IoError("fdatasync " + path_, errno);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length) override {
    if (length == 0) length = 1;
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return IoError("mmap " + path_, errno);
    return std::unique_ptr<MappedRegion>(new PosixMappedRegion(p, length));
  }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
};

class PosixEnv : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("open " + path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open " + path, errno);
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(fd, path));
  }

  absl::StatusOr<std::unique_ptr<RowFile>> OpenRowFile(const std::string& path) override {
    int fd = path.empty() ? ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)
                          : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && path.empty()) {  // no O_TMPFILE on this file system: create and unlink
      char name[] = "/tmp/iss-rows-XXXXXX";
      fd = ::mkostemp(name, O_CLOEXEC);
      if (fd >= 0) ::unlink(name);
    }
    if (fd < 0) return IoError("open " + (path.empty() ? std::string("/tmp") : path), errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return IoError("fstat " + path, err);
    }
    return std::unique_ptr<RowFile>(
        new PosixRowFile(fd, path.empty() ? "(temporary)" : path, uint64_t(st.st_size)));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return IoError("stat " + path, errno);
    return uint64_t(st.st_size);
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    std::error_code ec;
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    if (ec) return IoError("list " + dir, ec.value());
    return out;
  }

  absl::Status CreateDirs(const std::string& dir) override {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return IoError("mkdir " + dir, ec.value());
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return IoError("unlink " + path, errno);
    return absl::OkStatus();
  }

  absl::Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) return IoError("remove " + path, ec.value());
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return IoError("rename " + from, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open " + dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return IoError("fsync " + dir, err);
    return absl::OkStatus();
  }

  uint64_t MemAvailableBytes() override {
    FILE* f = std::fopen("/proc/meminfo", "re");
    if (f == nullptr) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    }
    std::fclose(f);
    return uint64_t(kb) * 1024;
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv;
  return env;
}

absl::StatusOr<std::string> ReadFileToString(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(path));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, f->Read(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

absl::StatusOr<uint64_t> CopyFile(Env* env, const std::string& from, const std::string& to) {
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> in, env->NewSequentialFile(from));
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, env->NewWritableFile(to));
  std::string buf(size_t{1} << 20, '\0');
  uint64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), n)));
    total += n;
  }
  RETURN_IF_ERROR(out->Sync());
  RETURN_IF_ERROR(out->Close());
  return total;
}

absl::Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->NewWritableFile(tmp));
    absl::Status s = f->Append(data);
    if (s.ok()) s = f->Sync();
    if (s.ok()) s = f->Close();
    if (!s.ok()) {
      (void)env->RemoveFile(tmp);
      return s;
    }
  }
  RETURN_IF_ERROR(env->RenameFile(tmp, path));
  return env->SyncDir(DirName(path));
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status IoError(const std::string& what, int err) {
  const Reason r = (err == ENOSPC || err == EDQUOT) ? Reason::kNoSpace : Reason::kStorage;
  return Fail(r, "(" + what + ": " + std::strerror(err) + ")");
}

}  // namespace iss
