// Helpers shared by the store suites: a fresh directory per test, hex fixtures, and reading
// every key of a namespace.
//
//   std::string dir = testutil::FreshDir(testutil::CurrentTestName());
//   EXPECT_EQ(EncodeItem(item), testutil::FromHex("03 2a00000000000000 ..."));
//
// Thread contract: FreshDir is thread-safe; the rest are pure or read a thread-safe Kv.
#ifndef ISS_TESTS_STORE_STORE_TEST_UTIL_H_
#define ISS_TESTS_STORE_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "store/kv.h"

namespace iss::store::testutil {

// A new empty directory under testing::TempDir(), unique to this process and call.
inline std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = ::testing::TempDir() + "/iss_store_" + name + "_" + std::to_string(::getpid()) +
                    "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string CurrentTestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// "03 2a00" -> the bytes 0x03 0x2a 0x00 (spaces ignored).
inline std::string FromHex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n') continue;
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    EXPECT_GE(v, 0) << "bad hex digit " << c;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits";
  return out;
}

// Every key and value of `kv` starting with `prefix`.
inline std::map<std::string, std::string> Dump(const Kv& kv, std::string_view prefix = "") {
  std::map<std::string, std::string> out;
  absl::Status s = kv.Scan(prefix, [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

inline uintmax_t SstBytes(const std::string& dir) {
  uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sst") bytes += e.file_size();
  }
  return bytes;
}

}  // namespace iss::store::testutil

#endif  // ISS_TESTS_STORE_STORE_TEST_UTIL_H_
