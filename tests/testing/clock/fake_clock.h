// A Clock that moves only when told: for tests of expiry, rate limits and time stamps
// without sleeping.
//
//   FakeClock clock(/*now_ms=*/1'700'000'000'000);
//   clock.Advance(std::chrono::seconds(90));
//
// Thread contract: thread-safe (atomics).
#ifndef ISS_TESTS_TESTING_CLOCK_FAKE_CLOCK_H_
#define ISS_TESTS_TESTING_CLOCK_FAKE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace iss::testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : wall_ms_(now_ms) {}
  int64_t NowMs() const override { return wall_ms_.load(); }
  int64_t MonotonicNs() const override { return mono_ns_.load(); }
  void Advance(std::chrono::nanoseconds d) {
    mono_ns_ += d.count();
    wall_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }
  void SetWallMs(int64_t ms) { wall_ms_ = ms; }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ns_{1'000'000'000};
};

}  // namespace iss::testing

#endif  // ISS_TESTS_TESTING_CLOCK_FAKE_CLOCK_H_
