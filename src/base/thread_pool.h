// officina's one thread pool (DESIGN: "one thread pool"). Work is split by
// static partitioning: run(n, fn) calls fn(task, thread) for task in [0, n)
// with task i on thread i % threads, no allocation per call, and returns when
// every task is done. The calling thread works as thread 0.
// Thread-safety: run() may be called from one thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
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

 private:
  void worker_loop(int thread);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t job_tasks_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace officina
