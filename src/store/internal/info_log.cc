#include "store/internal/info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/env.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

namespace iss::store::internal {
namespace {

class InfoLog : public rocksdb::Logger {
 public:
  explicit InfoLog(int fd) : fd_(fd) {}
  ~InfoLog() override { ::close(fd_); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    struct timeval now;
    ::gettimeofday(&now, nullptr);
    struct tm t;
    ::localtime_r(&now.tv_sec, &t);
    int n = std::snprintf(buf, sizeof buf, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %llx ",
                          t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                          static_cast<long>(now.tv_usec),
                          static_cast<unsigned long long>(::pthread_self()));
    std::string line(buf, n > 0 ? size_t(n) : 0);
    va_list copy;
    va_copy(copy, ap);
    n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n >= int(sizeof buf)) {  // long lines (RocksDB's stats dumps): format again
      std::vector<char> big(size_t(n) + 1);
      std::vsnprintf(big.data(), big.size(), format, ap);
      line.append(big.data(), size_t(n));
    } else if (n > 0) {
      line.append(buf, size_t(n));
    }
    if (line.empty() || line.back() != '\n') line.push_back('\n');
    // One write per line (O_APPEND): lines from threads do not interleave. A failure (no
    // space) loses this line and nothing else.
    (void)!::write(fd_, line.data(), line.size());
  }

 private:
  const int fd_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, size_t keep_old) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path log = fs::path(dir) / "LOG";
  if (fs::exists(log, ec)) {
    struct timeval now;
    ::gettimeofday(&now, nullptr);
    const long long us = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_usec;
    fs::rename(log, fs::path(dir) / ("LOG.old." + std::to_string(us)), ec);
  }
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("LOG.old.", 0) == 0) old.push_back(e.path());
  }
  std::sort(old.begin(), old.end());  // same-length microsecond stamps: oldest first
  for (size_t i = 0; i + keep_old < old.size(); ++i) fs::remove(old[i], ec);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::make_shared<InfoLog>(fd);
}

}  // namespace iss::store::internal
