// BackgroundWorker: runs one index's maintenance steps as tasks on a shared, bounded
// iss::Executor instead of a thread of its own, at most one task of this worker in flight
// (queued or running). A step does one unit of work (a training, a merge, a snapshot ...)
// and says whether more may remain; the worker then queues itself again, behind the other
// indexes' tasks, so every index on the executor makes progress. Without an executor, steps
// run inline, in the caller of Kick(), until none remains.
//
//   BackgroundWorker worker(executor, [this] { return RunStep(); });
//   worker.Kick();               // after a write that left work pending
//   ...  if (worker.stopping()) return Fail(Reason::kCancelled, "(stopping)");
//   worker.Stop();               // before the owner goes away
//
// Lifetimes: a queued task holds only a shared state block, never the owner. Stop() marks
// it stopped, waits for a running step to return and drops the step function; a task still
// queued then finds the block stopped and returns without touching anything else. So the
// owner may be destroyed as soon as Stop() returns, whatever the executor still holds.
// REQUIRES: the executor outlives the worker.
// Thread contract: Kick() and stopping() from any thread (Kick() also from inside a step);
// Stop() and WaitIdle() from any thread but the executor's (not from inside a step).
#ifndef ISS_INDEX_INTERNAL_BACKGROUND_WORKER_H_
#define ISS_INDEX_INTERNAL_BACKGROUND_WORKER_H_

#include <functional>
#include <memory>

namespace iss {
class Executor;
}  // namespace iss

namespace iss::index::internal {

class BackgroundWorker {
 public:
  // `step` returns true when more work may remain. `executor` null: steps run inline.
  BackgroundWorker(Executor* executor, std::function<bool()> step);
  ~BackgroundWorker();  // Stop()
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  // Makes sure a step runs soon: queues a task unless one is in flight (a running one is
  // asked to go on). Inline: runs steps now, until one returns false. Returns false when
  // nothing will run: stopped, or the executor refused the task (shut down).
  bool Kick();
  // Blocks until no task of this worker is in flight; then, while `more()` says work is
  // pending, kicks and waits again. Returns early once stopped or refused.
  void WaitIdle(const std::function<bool()>& more);
  // No step starts after this returns; waits for a running one. Idempotent.
  void Stop();
  // True once Stop() began: long steps poll it and give up (cheap, lock-free).
  bool stopping() const;

  struct State;

 private:
  Executor* const executor_;
  const std::shared_ptr<State> state_;
};

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_BACKGROUND_WORKER_H_
