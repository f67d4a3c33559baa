// iss::Mutex: a reader/writer lock with conditional waits, its scoped holders, and a
// one-shot Notification.
//
//   Mutex mu;
//   int n ABSL_GUARDED_BY(mu) = 0;
//   { MutexLock l(&mu); ++n; }
//   { ReaderMutexLock l(&mu); Read(n); }
//   { MutexLock l(&mu); mu.Await([&] { return n > 0; }); }
//
// absl::Mutex underneath (writers are not starved by a stream of readers, unlike glibc's
// shared_mutex). In ThreadSanitizer builds it is std::shared_mutex with a condition
// variable instead: Debian's Abseil is built without TSan, so TSan cannot see iss::Mutex
// synchronise and would report every access it guards; the pthread-based primitives it
// intercepts keep the sanitizer precise about our own code.
// Thread contract: the usual for a mutex.
#ifndef ISS_COMMON_MUTEX_H_
#define ISS_COMMON_MUTEX_H_

#include "absl/base/thread_annotations.h"

#if defined(__SANITIZE_THREAD__)
#include <condition_variable>
#include <shared_mutex>
#else
#include "absl/synchronization/mutex.h"
#endif

namespace iss {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

#if defined(__SANITIZE_THREAD__)
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock();
    cv_.notify_all();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock_shared();
    cv_.notify_all();
  }
  // Blocks until pred() holds; pred runs with the lock held. REQUIRES: held exclusively.
  template <typename Pred>
  void Await(Pred pred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    while (!pred()) cv_.wait(mu_);
  }

 private:
  std::shared_mutex mu_;
  std::condition_variable_any cv_;
#else
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.Lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.ReaderLock(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.ReaderUnlock(); }
  template <typename Pred>
  void Await(Pred pred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    mu_.Await(absl::Condition(
        +[](Pred* p) { return (*p)(); }, &pred));
  }

 private:
  absl::Mutex mu_;
#endif
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};
using WriterMutexLock = MutexLock;

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A one-shot event: Notify() once, WaitForNotification() from any number of threads.
class Notification {
 public:
  void Notify() {
    MutexLock l(&mu_);
    notified_ = true;
  }
  void WaitForNotification() {
    MutexLock l(&mu_);
    mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; });
  }
  bool HasBeenNotified() {
    MutexLock l(&mu_);
    return notified_;
  }

 private:
  Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace iss

#endif  // ISS_COMMON_MUTEX_H_
