#include "common/executor.h"

#include <gtest/gtest.h>

#include <atomic>

#include "common/mutex.h"

namespace iss {
namespace {

TEST(ExecutorTest, RunsEveryTaskOnItsThreads) {
  Executor executor({.threads = 3, .name = "t"});
  EXPECT_EQ(executor.threads(), 3);
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(executor.Submit([&] { ++done; }));
  executor.Shutdown();
  EXPECT_EQ(done.load(), 1000);
  EXPECT_FALSE(executor.Submit([&] { ++done; }));  // refused after shutdown
  EXPECT_EQ(done.load(), 1000);
}

TEST(ExecutorTest, ShutdownRunsWhatIsQueuedAndTasksMaySubmit) {
  Executor executor({.threads = 1});
  iss::Notification started, release;
  std::atomic<int> done{0};
  executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  for (int i = 0; i < 10; ++i) {
    executor.Submit([&] {
      ++done;
      executor.Submit([&] { ++done; });  // from a task, before shutdown completes
    });
  }
  EXPECT_EQ(executor.queued(), 10u);
  release.Notify();
  executor.Shutdown();
  EXPECT_GE(done.load(), 10);
  EXPECT_EQ(executor.running(), 0u);
}

}  // namespace
}  // namespace iss
