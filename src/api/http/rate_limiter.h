// Token buckets by key (a source address, a credential, a user name): `rate` tokens a
// second up to `burst`; a request takes one. Memory stays bounded under key floods (the
// table is cleared when it passes `max_keys`, which only ever forgives).
//
//   RateLimiter by_address({.rate = 50000, .burst = 100000});
//   if (!by_address.Take("addr:" + ip)) return Fail(Reason::kRateLimited);
//
// Thread contract: Take() is thread-safe.
#ifndef ISS_API_HTTP_RATE_LIMITER_H_
#define ISS_API_HTTP_RATE_LIMITER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace iss::api {

struct RateLimit {
  double rate = 50000;    // tokens per second
  double burst = 100000;  // bucket size
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit, const Clock* clock = Clock::Real(),
                       size_t max_keys = 100000);
  // Takes a token from `key`'s bucket; false when it is empty.
  bool Take(std::string_view key);
  // Whether `key`'s bucket holds a token, taking none (for limits that count only some
  // outcomes: check with Has() first, Take() when the outcome counts).
  bool Has(std::string_view key);
  // Whether `key`'s bucket is full: nothing taken lately (a key never seen is full).
  bool Full(std::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    double at_s = 0;
  };
  const RateLimit limit_;
  const Clock* clock_;
  const size_t max_keys_;
  iss::Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);

  // `key`'s bucket refilled to now (created full).
  Bucket& Refill(std::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace iss::api

#endif  // ISS_API_HTTP_RATE_LIMITER_H_
