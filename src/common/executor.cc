#include "common/executor.h"

#include <pthread.h>

#include <algorithm>

namespace iss {

Executor::Executor(const ExecutorOptions& options) {
  const int n = std::max(1, options.threads);
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this] { Loop(); });
    std::string name = (options.name + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), name.c_str());
  }
}

Executor::~Executor() { Shutdown(); }

bool Executor::Submit(std::function<void()> task) {
  iss::MutexLock lock(&mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(task));
  return true;
}

void Executor::Shutdown() {
  {
    iss::MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

size_t Executor::queued() const {
  iss::MutexLock lock(&mu_);
  return queue_.size();
}

size_t Executor::running() const {
  iss::MutexLock lock(&mu_);
  return running_;
}

void Executor::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      iss::MutexLock lock(&mu_);
      mu_.Await([this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    task();
    iss::MutexLock lock(&mu_);
    --running_;
  }
}

}  // namespace iss
