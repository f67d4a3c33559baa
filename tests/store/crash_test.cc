// kill -9 safety: a child process writes synced records, reporting each acknowledged key
// through a pipe, and is SIGKILLed mid-stream; after reopening, every acknowledged key is
// there with its value (and batches are all-or-nothing).
//
// What this does NOT show: that writes are durable. A killed process's writes are already
// in the kernel's page cache, which survives the kill, so this test passes even with
// DatabaseOptions::sync_writes = false (no fsync at all). Power-loss durability is shown by
// durability_test.cc, which drops every byte not fsynced (tests/testing/rocks/) and fails
// with sync off.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "store/kv.h"

namespace iss::store {
namespace {

[[noreturn]] void ChildWriter(const std::string& dir, int fd) {
  auto db = Database::Open(dir, {});
  if (!db.ok()) _exit(2);
  auto kv = (*db)->Namespace("crash");
  if (!kv.ok()) _exit(3);
  for (int i = 0;; ++i) {
    std::string k = "k" + std::to_string(i);
    std::string v(1000 + i % 100, static_cast<char>('a' + i % 26));
    // Odd records go as a two-key batch: both keys or neither must survive.
    absl::Status s = (i % 2) ? (*kv)->Write({{k, v}, {k + "/twin", v}}) : (*kv)->Put(k, v);
    if (!s.ok()) _exit(4);
    uint32_t n = static_cast<uint32_t>(i);
    if (write(fd, &n, sizeof n) != sizeof n) _exit(5);
  }
}

TEST(StoreCrashTest, AcknowledgedWritesSurviveSigkill) {
  std::string dir = testing::TempDir() + "/iss_store_crash_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::set<int> acked;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildWriter(dir, fds[1]);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 100 * round));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own: " << WEXITSTATUS(status);
    std::set<int> this_round;
    uint32_t n;
    while (read(fds[0], &n, sizeof n) == sizeof n) this_round.insert(static_cast<int>(n));
    close(fds[0]);
    ASSERT_FALSE(this_round.empty()) << "child acknowledged nothing before the kill";

    auto db = Database::Open(dir, {});
    ASSERT_TRUE(db.ok()) << db.status();
    auto kv = (*db)->Namespace("crash");
    ASSERT_TRUE(kv.ok());
    for (int i : this_round) {
      std::string k = "k" + std::to_string(i);
      auto v = (*kv)->Get(k);
      ASSERT_TRUE(v.ok());
      ASSERT_TRUE(v->has_value()) << "acknowledged key lost: " << k;
      EXPECT_EQ((*v)->size(), size_t(1000 + i % 100));
      EXPECT_EQ((**v)[0], static_cast<char>('a' + i % 26));
    }
    // Later rounds rewrite the same keys with the same values, so this round's
    // acks suffice. Batches are atomic: for every key present, its twin is
    // present too (and vice versa).
    int keys = 0;
    ASSERT_TRUE((*kv)
                    ->Scan("k",
                           [&](std::string_view key, std::string_view) {
                             ++keys;
                             return true;
                           })
                    .ok());
    int odd_missing_twin = 0;
    ASSERT_TRUE((*kv)
                    ->Scan("k",
                           [&](std::string_view key, std::string_view) {
                             std::string k(key);
                             if (k.find('/') != std::string::npos) return true;
                             int i = std::stoi(k.substr(1));
                             if (i % 2 && !(*kv)->Get(k + "/twin")->has_value()) ++odd_missing_twin;
                             return true;
                           })
                    .ok());
    EXPECT_EQ(odd_missing_twin, 0);
    EXPECT_GE(keys, static_cast<int>(this_round.size()));
    acked.insert(this_round.begin(), this_round.end());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace iss::store
