// Background work on a shared, bounded executor: BackgroundWorker keeps at most one task of
// a worker in flight however many threads kick it, and a task still queued when the worker
// stops becomes a no-op; several tiered indexes on one executor thread all make progress;
// an index destroyed while its task waits behind another index's work returns at once and
// its task never touches it; an index destroyed mid-training stops; a shut-down executor
// makes WaitIdle return instead of hanging.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "common/executor.h"
#include "common/mutex.h"
#include "index/internal/background_worker.h"
#include "index/tiered_index.h"
#include "test_vectors.h"

namespace iss::index {
namespace {

using internal::BackgroundWorker;
constexpr int kDim = 48;

TieredOptions SmallAnn(Executor* executor) {
  TieredOptions o;
  o.exact_max = 300;
  o.merge_rows = 100;
  o.nlist = 16;
  o.pq_m = 12;
  o.executor = executor;
  return o;
}

// Blocks the executor's threads until Open() (to queue tasks behind a busy pool). Returns
// from construction once every thread is inside the gate.
class Gate {
 public:
  explicit Gate(Executor* executor, int threads) {
    for (int i = 0; i < threads; ++i) {
      executor->Submit([this] {
        ++entered_;
        open_.WaitForNotification();
      });
    }
    while (entered_.load() < threads) std::this_thread::yield();
  }
  ~Gate() { Open(); }
  void Open() {
    if (!open_.HasBeenNotified()) open_.Notify();
  }

 private:
  iss::Notification open_;
  std::atomic<int> entered_{0};
};

// Waits (bounded) until the executor has nothing queued or running.
void Drain(const Executor& executor) {
  for (int i = 0; i < 60000 && (executor.queued() > 0 || executor.running() > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(executor.queued() + executor.running(), 0u);
}

TEST(BackgroundWorkerTest, AtMostOneTaskInFlightHoweverOftenItIsKicked) {
  Executor executor({.threads = 4, .name = "test-worker"});
  std::atomic<int> in_step{0}, max_in_step{0}, steps{0}, left{0};
  BackgroundWorker worker(&executor, [&] {
    const int now = ++in_step;
    max_in_step = std::max(max_in_step.load(), now);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++steps;
    --in_step;
    return --left > 0;  // "more may remain" until the work left is done
  });
  std::vector<std::thread> kickers;
  for (int t = 0; t < 4; ++t) {
    kickers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        ++left;
        worker.Kick();
      }
    });
  }
  for (std::thread& t : kickers) t.join();
  worker.WaitIdle([&] { return left.load() > 0; });
  EXPECT_EQ(max_in_step.load(), 1);
  EXPECT_GE(steps.load(), 1);
  EXPECT_LE(left.load(), 0);
}

TEST(BackgroundWorkerTest, AQueuedTaskIsANoOpAfterStop) {
  Executor executor({.threads = 1, .name = "test-worker"});
  std::atomic<int> steps{0};
  {
    Gate gate(&executor, 1);
    auto worker = std::make_unique<BackgroundWorker>(&executor, [&] {
      ++steps;
      return false;
    });
    EXPECT_TRUE(worker->Kick());  // queued behind the gate
    EXPECT_EQ(executor.queued(), 1u);
    worker.reset();  // Stop(): nothing runs, so nothing to wait for
    gate.Open();
    Drain(executor);
  }
  EXPECT_EQ(steps.load(), 0);
}

TEST(BackgroundWorkerTest, InlineWithoutAnExecutor) {
  int steps = 0;
  BackgroundWorker worker(nullptr, [&] { return ++steps < 3; });
  EXPECT_TRUE(worker.Kick());
  EXPECT_EQ(steps, 3);  // ran in this call, until a step said it was done
  worker.Stop();
  EXPECT_FALSE(worker.Kick());
  EXPECT_EQ(steps, 3);
}

TEST(TieredBackgroundTest, SeveralIndexesOnOneThreadAllMakeProgress) {
  Executor executor({.threads = 1, .name = "test-index"});
  std::vector<std::unique_ptr<TieredIndex>> indexes;
  for (int i = 0; i < 4; ++i) {
    auto ix = TieredIndex::Open(kDim, SmallAnn(&executor));
    ASSERT_TRUE(ix.ok()) << ix.status();
    indexes.push_back(std::move(*ix));
  }
  // Interleaved writes: every index keeps kicking the one thread.
  for (uint64_t id = 1; id <= 1200; ++id) {
    for (size_t i = 0; i < indexes.size(); ++i) {
      ASSERT_TRUE(indexes[i]->Put(id, testing::Vec(id, i, kDim), id).ok());
    }
  }
  for (auto& ix : indexes) ix->WaitIdle();
  for (size_t i = 0; i < indexes.size(); ++i) {
    const TieredStats st = indexes[i]->Stats();
    EXPECT_TRUE(st.ann) << i;
    EXPECT_GE(st.builds, 1u) << i;
    EXPECT_LT(st.buffer_rows, 100u) << i;  // merged
    EXPECT_EQ(st.live, 1200u) << i;
    auto hits = indexes[i]->Search(testing::Vec(77, i, kDim), 1, nullptr);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ((*hits)[0].id, 77u);
  }
}

TEST(TieredBackgroundTest, DestroyingAnIndexWhoseTaskWaitsBehindAnother) {
  Executor executor({.threads = 1, .name = "test-index"});
  const std::string dir = testing::FreshDir("bg-destroy");
  TieredOptions o = SmallAnn(&executor);
  o.dir = dir;
  auto a = TieredIndex::Open(kDim, o);
  auto b = TieredIndex::Open(kDim, SmallAnn(&executor));
  ASSERT_TRUE(a.ok() && b.ok());
  Gate gate(&executor, 1);  // the one thread is busy ("another index training")
  for (uint64_t id = 1; id <= 400; ++id) {
    ASSERT_TRUE((*a)->Put(id, testing::Vec(id, 1, kDim), 1).ok());
    ASSERT_TRUE((*b)->Put(id, testing::Vec(id, 2, kDim), 1).ok());
  }
  EXPECT_EQ(executor.queued(), 2u);  // a's and b's: one task an index, however many Puts
  // Destroy must not wait for a queued task (it would wait for the gate: a deadlock).
  auto destroyed = std::async(std::launch::async, [&] {
    (*a)->Destroy();
    a->reset();
  });
  ASSERT_EQ(destroyed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(std::filesystem::exists(dir));
  gate.Open();  // a's queued task now runs: a no-op on a freed index (ASan would see it)
  (*b)->WaitIdle();
  EXPECT_TRUE((*b)->Stats().ann);
  Drain(executor);
}

TEST(TieredBackgroundTest, DestroyingAnIndexWhileItTrains) {
  Executor executor({.threads = 1, .name = "test-index"});
  const std::string dir = testing::FreshDir("bg-mid-train");
  TieredOptions o = SmallAnn(&executor);
  o.dir = dir;
  o.exact_max = 20000;
  auto ix = TieredIndex::Open(kDim, o);
  auto other = TieredIndex::Open(kDim, SmallAnn(&executor));
  ASSERT_TRUE(ix.ok() && other.ok());
  Gate gate(&executor, 1);  // hold the work back until every row is written
  for (uint64_t id = 1; id <= 20000; ++id) {
    ASSERT_TRUE((*ix)->Put(id, testing::Vec(id, 0, kDim), 1).ok());
  }
  for (uint64_t id = 1; id <= 400; ++id) {
    ASSERT_TRUE((*other)->Put(id, testing::Vec(id, 3, kDim), 1).ok());
  }
  ASSERT_EQ(executor.queued(), 2u);  // ix's, then other's
  gate.Open();
  // Until ix's training step runs (the other's task is the one left queued), then destroy
  // it mid-step: Destroy waits for the step, which gives up at its next stop check.
  for (int i = 0; i < 10000 && executor.queued() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*ix)->Destroy();
  ix->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  (*other)->WaitIdle();  // the other index still gets the thread
  EXPECT_TRUE((*other)->Stats().ann);
  Drain(executor);
}

TEST(TieredBackgroundTest, AShutDownExecutorMakesWaitIdleReturn) {
  Executor executor({.threads = 1, .name = "test-index"});
  auto ix = TieredIndex::Open(kDim, SmallAnn(&executor));
  ASSERT_TRUE(ix.ok());
  executor.Shutdown();
  for (uint64_t id = 1; id <= 400; ++id) {
    ASSERT_TRUE((*ix)->Put(id, testing::Vec(id, 0, kDim), 1).ok());
  }
  (*ix)->WaitIdle();  // refused, not hung
  EXPECT_FALSE((*ix)->Stats().ann);
  EXPECT_EQ((*ix)->size(), 400u);  // writes and searches still work
  auto hits = (*ix)->Search(testing::Vec(5, 0, kDim), 1, nullptr);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].id, 5u);
}

}  // namespace
}  // namespace iss::index
