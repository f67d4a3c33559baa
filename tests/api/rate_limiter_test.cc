#include "api/http/rate_limiter.h"

#include <gtest/gtest.h>

#include "testing/clock/fake_clock.h"

namespace iss::api {
namespace {

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  iss::testing::FakeClock clock;
  RateLimiter limiter({.rate = 2, .burst = 3}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("a")) << i;
  EXPECT_FALSE(limiter.Take("a"));
  EXPECT_TRUE(limiter.Take("b"));  // buckets are per key
  clock.Advance(std::chrono::milliseconds(499));
  EXPECT_FALSE(limiter.Take("a"));
  clock.Advance(std::chrono::milliseconds(2));  // 0.5 s at 2/s: one token
  EXPECT_TRUE(limiter.Take("a"));
  EXPECT_FALSE(limiter.Take("a"));
  clock.Advance(std::chrono::seconds(100));  // never more than the burst
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("a"));
  EXPECT_FALSE(limiter.Take("a"));
}

TEST(RateLimiterTest, KeyFloodsDoNotGrowMemoryWithoutBound) {
  iss::testing::FakeClock clock;
  RateLimiter limiter({.rate = 1, .burst = 1}, &clock, /*max_keys=*/100);
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(limiter.Take("k" + std::to_string(i)));
}

TEST(RateLimiterTest, HasAndFullTakeNothing) {
  iss::testing::FakeClock clock;
  RateLimiter limiter({.rate = 1, .burst = 2}, &clock);
  EXPECT_TRUE(limiter.Full("k"));  // never seen
  EXPECT_TRUE(limiter.Has("k"));
  EXPECT_TRUE(limiter.Full("k"));  // Has() took nothing
  EXPECT_TRUE(limiter.Take("k"));
  EXPECT_FALSE(limiter.Full("k"));
  EXPECT_TRUE(limiter.Has("k"));
  EXPECT_TRUE(limiter.Take("k"));
  EXPECT_FALSE(limiter.Has("k"));
  clock.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(limiter.Full("k"));
}

}  // namespace
}  // namespace iss::api
