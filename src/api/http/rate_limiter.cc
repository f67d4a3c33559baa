#include "api/http/rate_limiter.h"

#include <algorithm>

namespace iss::api {

RateLimiter::RateLimiter(RateLimit limit, const Clock* clock, size_t max_keys)
    : limit_(limit), clock_(clock), max_keys_(max_keys) {}

RateLimiter::Bucket& RateLimiter::Refill(std::string_view key) {
  const double now = double(clock_->MonotonicNs()) / 1e9;
  if (buckets_.size() > max_keys_) buckets_.clear();
  auto [it, fresh] = buckets_.try_emplace(std::string(key), Bucket{limit_.burst, now});
  Bucket& b = it->second;
  b.tokens = std::min(limit_.burst, b.tokens + (now - b.at_s) * limit_.rate);
  b.at_s = now;
  return b;
}

bool RateLimiter::Take(std::string_view key) {
  iss::MutexLock lock(&mu_);
  Bucket& b = Refill(key);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

bool RateLimiter::Has(std::string_view key) {
  iss::MutexLock lock(&mu_);
  return Refill(key).tokens >= 1;
}

bool RateLimiter::Full(std::string_view key) {
  iss::MutexLock lock(&mu_);
  return Refill(key).tokens >= limit_.burst;
}

}  // namespace iss::api
