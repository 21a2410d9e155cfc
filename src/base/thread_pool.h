// officina's one thread pool (DESIGN: "one thread pool"). Work is split by
// static partitioning: run(n, fn) calls fn(task, thread) for task in [0, n)
// with task i on thread i % threads, no allocation per call, and returns when
// every task is done. The calling thread works as thread 0.
//
// Hand-off: a forward pass calls run() about a hundred times per token, tens
// of microseconds apart, so waking sleeping threads through the kernel each
// time (a futex call and a scheduler wake-up, 10-50 us in a VM) would cost
// as much as the work. Instead a worker that finished a job spins on the job
// counter for up to kSpinMicros before it sleeps (futex wait on the
// counter), and run() spins for its workers to finish before it sleeps.
// run() only makes the wake-up system call when a worker is asleep. While
// the machine has more runnable threads than cores nobody spins (see
// may_spin in the .cc): on shared cores spinning costs whole time slices.
// Thread-safety: run() may be called from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace officina {

class ThreadPool {
 public:
  // threads <= 0 means the number of hardware threads.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread) for every task in [0, tasks); blocks until done.
  void run(int64_t tasks, const std::function<void(int64_t task, int thread)>& fn);

  // Splits [0, n) into size() contiguous ranges: fn(begin, end, thread).
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

  static int default_threads();

  // How long an idle thread spins before it sleeps.
  static constexpr int64_t kSpinMicros = 200;

 private:
  void worker_loop(int thread);

  std::vector<std::thread> workers_;
  // The job: written by run() before it bumps generation_ (release), read by
  // workers after they see the new generation (acquire).
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t job_tasks_ = 0;
  // Each on its own cache line: workers poll generation_ while they count
  // down pending_.
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int32_t> sleepers_{0};  // workers in a futex wait on generation_
  alignas(64) std::atomic<int32_t> pending_{0};   // workers not done with the current job
  std::atomic<int32_t> caller_sleeping_{0};       // run() in a futex wait on pending_
  std::atomic<bool> stop_{false};
};

}  // namespace officina
