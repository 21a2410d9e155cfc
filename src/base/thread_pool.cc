#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

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

// Futex wait and wake on a 32-bit atomic, without the C++ library's
// std::atomic::wait, which first calls sched_yield a dozen times: on a
// shared core each yield hands the rest of the time slice to another
// process.
template <class T>
void futex_wait(std::atomic<T>& word, T expected) {
  static_assert(sizeof(std::atomic<T>) == sizeof(uint32_t));
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, static_cast<uint32_t>(expected), nullptr,
          nullptr, 0);
}
template <class T>
void futex_wake(std::atomic<T>& word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

// Whether threads should spin before they sleep. Spinning only pays while
// each runnable thread has a core to itself: when the cores are shared (a
// compiler or another test beside us, more threads than cores), a spinning
// thread is preempted like any busy one, is then off its core for a whole
// time slice when the next job comes, and a 10 ms token becomes hundreds;
// a sleeping thread woken by the futex gets a core back at once. Every
// 10 ms one thread reads the number of runnable threads of the machine
// (/proc/loadavg, ours included) and compares it with the cores.
bool may_spin() {
  static std::atomic<int64_t> next_check{0};
  static std::atomic<bool> shared{false};
  static const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t due = next_check.load(std::memory_order_relaxed);
  if (now >= due && next_check.compare_exchange_strong(due, now + 10000, std::memory_order_relaxed)) {
    char text[128] = {};
    long running = 0;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      const size_t got = std::fread(text, 1, sizeof text - 1, f);
      std::fclose(f);
      text[got] = '\0';
      // "0.20 0.18 0.12 3/345 1234": the fourth field is running/total.
      double a, b, c;
      if (std::sscanf(text, "%lf %lf %lf %ld/", &a, &b, &c, &running) != 4) running = 0;
    }
    shared.store(running > cores, std::memory_order_relaxed);
  }
  return !shared.load(std::memory_order_relaxed);
}

// Spins until done() or kSpinMicros have passed; true if done().
template <class Done>
bool spin_until(Done done) {
  using Clock = std::chrono::steady_clock;
  if (done()) return true;
  if (!may_spin()) return false;
  const auto deadline = Clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return done();
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
  futex_wake(generation_, INT32_MAX);
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
      while (generation_.load(std::memory_order_seq_cst) == seen) futex_wait(generation_, seen);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    const auto* job = job_;
    const int64_t tasks = job_tasks_;
    for (int64_t i = thread; i < tasks; i += size()) (*job)(i, thread);
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_sleeping_.load(std::memory_order_seq_cst) != 0)
      futex_wake(pending_, 1);
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
  if (sleepers_.load(std::memory_order_seq_cst) != 0) futex_wake(generation_, INT32_MAX);
  for (int64_t i = 0; i < tasks; i += size()) fn(i, 0);
  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    caller_sleeping_.store(1, std::memory_order_seq_cst);
    for (int32_t left = pending_.load(std::memory_order_seq_cst); left != 0;
         left = pending_.load(std::memory_order_seq_cst))
      futex_wait(pending_, left);
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
