// A bounded pool of threads for background work (index training, merges, snapshots,
// preloads; later import jobs): one pool for the whole server instead of a thread per
// gallery, sized from the configuration.
//
//   Executor executor({.threads = 2, .name = "index"});
//   executor.Submit([shard] { shard->RunPending(); });
//   ...
//   executor.Shutdown();  // runs what is queued, joins
//
// Tasks must not throw. A task that may run long checks its own stop flag: Shutdown()
// waits for every queued task. Owners that must not be destroyed while one of their
// tasks is queued track that themselves (index/tiered_index.cc does).
// Thread contract: Submit() from any thread, including from a task; Shutdown() from the
// owner (not from a task).
#ifndef ISS_COMMON_EXECUTOR_H_
#define ISS_COMMON_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace iss {

struct ExecutorOptions {
  int threads = 2;            // Default: 2 background threads (the machine's cores)
  std::string name = "work";  // thread name prefix (top, gdb)
};

class Executor {
 public:
  explicit Executor(const ExecutorOptions& options);
  ~Executor();  // Shutdown()
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. Returns false (and drops it) after Shutdown().
  bool Submit(std::function<void()> task);
  // Stops accepting tasks, runs every queued one, joins the threads. Idempotent.
  void Shutdown();

  int threads() const { return int(threads_.size()); }
  // Tasks queued and not yet started.
  size_t queued() const;
  // Tasks running now.
  size_t running() const;

 private:
  void Loop();

  mutable iss::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace iss

#endif  // ISS_COMMON_EXECUTOR_H_
