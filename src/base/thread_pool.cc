#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace officina {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or kSpinMicros have passed; true if done().
template <class Done>
bool spin_until(Done done) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return done();
    // Lets a thread that shares this core run (more threads than cores, or
    // another process): the one we wait for may be it.
    std::this_thread::yield();
  }
}

}  // namespace

int ThreadPool::default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = default_threads();
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(int thread) {
  // Not a load: a run() may bump the counter before this thread starts.
  uint32_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      // Dekker with run(): run() bumps generation_ then reads sleepers_; we
      // raise sleepers_ then wait on generation_ (which rechecks it), so
      // either run() sees a sleeper and notifies, or the wait returns.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      while (generation_.load(std::memory_order_seq_cst) == seen) generation_.wait(seen, std::memory_order_seq_cst);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    const auto* job = job_;
    const int64_t tasks = job_tasks_;
    for (int64_t i = thread; i < tasks; i += size()) (*job)(i, thread);
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_sleeping_.load(std::memory_order_seq_cst) != 0)
      pending_.notify_one();
  }
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int64_t i = 0; i < tasks; ++i) fn(i, 0);
    return;
  }
  job_ = &fn;
  job_tasks_ = tasks;
  pending_.store(static_cast<int32_t>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) != 0) generation_.notify_all();
  for (int64_t i = 0; i < tasks; i += size()) fn(i, 0);
  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    caller_sleeping_.store(1, std::memory_order_seq_cst);
    for (int32_t left = pending_.load(std::memory_order_seq_cst); left != 0;
         left = pending_.load(std::memory_order_seq_cst))
      pending_.wait(left, std::memory_order_seq_cst);
    caller_sleeping_.store(0, std::memory_order_relaxed);
  }
  job_ = nullptr;
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  int64_t parts = std::min<int64_t>(size(), n);
  run(parts, [&](int64_t part, int thread) {
    int64_t begin = n * part / parts;
    int64_t end = n * (part + 1) / parts;
    fn(begin, end, thread);
  });
}

}  // namespace officina
