// BackgroundWorker. The state block is shared by the worker and its queued task; every
// field but the stop flag is guarded by its mutex. A task runs the step only after
// setting `running` under the mutex while not stopped, and Stop() waits for `running` to
// fall under the same mutex: between them, no step can start or still run after Stop().
#include "index/internal/background_worker.h"

#include <atomic>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "common/executor.h"
#include "common/mutex.h"

namespace iss::index::internal {

struct BackgroundWorker::State {
  iss::Mutex mu;
  std::function<bool()> step ABSL_GUARDED_BY(mu);  // dropped by Stop()
  bool queued ABSL_GUARDED_BY(mu) = false;         // a task is in the executor's queue
  bool running ABSL_GUARDED_BY(mu) = false;        // a task is running the step
  bool again ABSL_GUARDED_BY(mu) = false;          // kicked while running: queue once more
  bool stopped ABSL_GUARDED_BY(mu) = false;
  bool refused ABSL_GUARDED_BY(mu) = false;  // the executor refused a task (shut down)
  std::atomic<bool> stop{false};             // set with `stopped`, read lock-free
  Executor* executor = nullptr;              // set once, before any task

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return stopped || refused || (!queued && !running);
  }
};

namespace {

using State = BackgroundWorker::State;

void Submit(const std::shared_ptr<State>& s);

// The task: at most one exists per state block (queued or running).
void Run(const std::shared_ptr<State>& s) {
  std::function<bool()> step;
  {
    iss::MutexLock l(&s->mu);
    s->queued = false;
    if (s->stopped) return;  // queued before Stop(): a no-op
    s->running = true;
    s->again = false;
    step = s->step;  // a copy: Stop() may drop the original once `running` falls
  }
  const bool more = step();
  bool resubmit = false;
  {
    iss::MutexLock l(&s->mu);
    s->running = false;
    if (!s->stopped && (more || s->again)) s->queued = resubmit = true;
  }
  if (resubmit) Submit(s);
}

// REQUIRES: s->queued was set by the caller.
void Submit(const std::shared_ptr<State>& s) {
  if (s->executor->Submit([s] { Run(s); })) return;
  iss::MutexLock l(&s->mu);
  s->queued = false;
  s->refused = true;
}

}  // namespace

BackgroundWorker::BackgroundWorker(Executor* executor, std::function<bool()> step)
    : executor_(executor), state_(std::make_shared<State>()) {
  state_->executor = executor;
  iss::MutexLock l(&state_->mu);
  state_->step = std::move(step);
}

BackgroundWorker::~BackgroundWorker() { Stop(); }

bool BackgroundWorker::stopping() const { return state_->stop.load(std::memory_order_acquire); }

bool BackgroundWorker::Kick() {
  if (executor_ == nullptr) {
    std::function<bool()> step;
    {
      iss::MutexLock l(&state_->mu);
      if (state_->stopped) return false;
      step = state_->step;
    }
    while (!stopping() && step()) {
    }
    return true;
  }
  {
    iss::MutexLock l(&state_->mu);
    if (state_->stopped) return false;
    if (state_->running) {
      state_->again = true;
      return true;
    }
    if (state_->queued) return true;
    state_->queued = true;
    state_->refused = false;
  }
  Submit(state_);
  iss::MutexLock l(&state_->mu);
  return !state_->refused;
}

void BackgroundWorker::WaitIdle(const std::function<bool()>& more) {
  if (executor_ == nullptr) {  // inline: one round of steps, as a write would run them
    Kick();
    return;
  }
  for (;;) {
    {
      iss::MutexLock l(&state_->mu);
      State* s = state_.get();
      s->mu.Await([s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->Idle(); });
      if (state_->stopped || state_->refused) return;
    }
    if (!more() || !Kick()) return;
  }
}

void BackgroundWorker::Stop() {
  std::function<bool()> dropped;
  {
    iss::MutexLock l(&state_->mu);
    state_->stopped = true;
    state_->stop.store(true, std::memory_order_release);
    State* s = state_.get();
    s->mu.Await([s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return !s->running; });
    dropped = std::move(state_->step);
    state_->step = nullptr;
  }
  // `dropped` (and whatever it captured) goes here, outside the lock.
}

}  // namespace iss::index::internal
