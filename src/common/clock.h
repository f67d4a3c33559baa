// Time, injected: wall-clock milliseconds for records and tokens, a monotonic clock for
// durations and rate limits. Tests use a manual clock (tests/testing/fake_clock.h).
//
//   const Clock* clock = Clock::Real();
//   record.created_ms = clock->NowMs();
//
// Thread contract: every method is thread-safe.
#ifndef ISS_COMMON_CLOCK_H_
#define ISS_COMMON_CLOCK_H_

#include <cstdint>

namespace iss {

class Clock {
 public:
  virtual ~Clock() = default;
  // The process's clocks (system_clock and steady_clock). Never deleted.
  static const Clock* Real();

  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Seconds since the Unix epoch.
  int64_t NowS() const { return NowMs() / 1000; }
  // Nanoseconds of a clock that never goes back (arbitrary origin).
  virtual int64_t MonotonicNs() const = 0;
};

}  // namespace iss

#endif  // ISS_COMMON_CLOCK_H_
