// Benchmark of matmul (plain main, not a test): matvec (n = 1, decode) and
// matmul (n = 128, prefill) against weights of 768 x 768, 2048 x 768 and
// 768 x 2048 ([rows, cols]) in F32, F16, Q8_0, Q4_0, Q4_K and Q6_K, on 1 and 2
// threads. Prints a table (GFLOP/s, and GB/s of weight bytes read per call)
// and writes JSON to argv[1] (default tensor-bench.json).
//   tensor_bench [OUT.json] [--quick]
// Each figure is the best of five timed runs of at least 0.2 s (0.03 s with
// --quick); the best run is the least disturbed by other load. On a shared
// machine the wall-clock rates understate the kernels, so the process CPU
// time of the same runs is reported too: GFLOP per CPU-second (summed over
// threads) is what one fully available core would do.
#include "bench_machine.h"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "tensor/matmul.h"
#include "tensor/ops.h"
#include "tensor/quantize.h"

namespace {

using officina::DType;
using officina::Json;
using officina::TensorView;
using officina::ThreadPool;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

using officina::bench::cpu_model;
using officina::bench::load_average;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Weights {
  TensorView view;
  std::vector<std::byte> bytes;
};

Weights make_weights(DType type, int64_t rows, int64_t cols) {
  Weights w;
  const auto values = gaussian(rows * cols, 1);
  const size_t row_bytes = officina::dtype_row_bytes(type, cols);
  w.bytes.resize(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    officina::quantize_row(type, values.data() + r * cols, w.bytes.data() + r * row_bytes, cols);
  w.view.dtype = type;
  w.view.ndim = 2;
  w.view.shape = {rows, cols, 1, 1};
  w.view.data = w.bytes.data();
  return w;
}

struct Row {
  std::string type;
  int64_t rows = 0, cols = 0, n = 0;
  int threads = 0;
  double seconds = 0;      // wall time per call, best run
  double cpu_seconds = 0;  // CPU time per call (all threads), best run
  double gflops = 0;
  double gflops_per_cpu = 0;
  double weight_gbps = 0;
};

Row measure(const Weights& w, int64_t n, ThreadPool& pool, double min_seconds) {
  const int64_t rows = w.view.rows(), cols = w.view.cols();
  const auto x = gaussian(n * cols, 2);
  std::vector<float> y(static_cast<size_t>(n * rows));
  officina::matmul(w.view, x.data(), y.data(), n, pool);  // warm up caches and buffers
  double best = 1e30, best_cpu = 1e30;
  for (int run = 0; run < 5; ++run) {
    int64_t calls = 0;
    const double t0 = now(), c0 = cpu_now();
    double t = t0;
    do {
      officina::matmul(w.view, x.data(), y.data(), n, pool);
      ++calls;
      t = now();
    } while (t - t0 < min_seconds);
    best = std::min(best, (t - t0) / static_cast<double>(calls));
    best_cpu = std::min(best_cpu, (cpu_now() - c0) / static_cast<double>(calls));
  }
  Row r;
  r.type = std::string(officina::dtype_name(w.view.dtype));
  r.rows = rows;
  r.cols = cols;
  r.n = n;
  r.threads = pool.size();
  r.seconds = best;
  r.cpu_seconds = best_cpu;
  r.gflops = 2.0 * static_cast<double>(rows * cols * n) / best / 1e9;
  r.gflops_per_cpu = 2.0 * static_cast<double>(rows * cols * n) / best_cpu / 1e9;
  r.weight_gbps = static_cast<double>(w.view.bytes()) / best / 1e9;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "tensor-bench.json";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (!a.empty() && a[0] == '-') {
      die("unknown option " + a + " (usage: tensor_bench [OUT.json] [--quick])");
    } else {
      out = a;
    }
  }
  const double min_seconds = quick ? 0.03 : 0.2;
  const std::string load_before = load_average();
  ThreadPool pool1(1), pool2(2);
  const DType types[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};
  const int64_t shapes[][2] = {{768, 768}, {2048, 768}, {768, 2048}};
  std::vector<Row> results;
  for (const auto& shape : shapes) {
    for (DType type : types) {
      const Weights w = make_weights(type, shape[0], shape[1]);
      for (int64_t n : {1, 128})
        for (ThreadPool* pool : {&pool1, &pool2}) results.push_back(measure(w, n, *pool, min_seconds));
    }
  }
  const std::string load_after = load_average();

  std::printf("machine: %s, nproc %ld, SIMD %s, load average %s (before) / %s (after)\n", cpu_model().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), officina::simd_target_name(), load_before.c_str(), load_after.c_str());
  std::printf("%-5s %11s %4s %3s %11s %9s %9s %12s\n", "type", "rows x cols", "n", "thr", "us/call", "GFLOP/s", "GB/s W",
              "GFLOP/cpu-s");
  Json json = {{"benchmark", "tensor"},
               {"machine", {{"cpu_model", cpu_model()}, {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
                            {"simd_target", officina::simd_target_name()}, {"loadavg_before", load_before},
                            {"loadavg_after", load_after}}},
               {"rows", Json::array()}};
  for (const Row& r : results) {
    const std::string shape = std::to_string(r.rows) + "x" + std::to_string(r.cols);
    std::printf("%-5s %11s %4lld %3d %11.1f %9.2f %9.2f %12.2f\n", r.type.c_str(), shape.c_str(),
                static_cast<long long>(r.n), r.threads, r.seconds * 1e6, r.gflops, r.weight_gbps, r.gflops_per_cpu);
    json["rows"].push_back({{"type", r.type},
                            {"rows", r.rows},
                            {"cols", r.cols},
                            {"n", r.n},
                            {"threads", r.threads},
                            {"seconds_per_call", r.seconds},
                            {"cpu_seconds_per_call", r.cpu_seconds},
                            {"gflops", r.gflops},
                            {"gflops_per_cpu_second", r.gflops_per_cpu},
                            {"weight_gb_per_second", r.weight_gbps}});
  }
  const std::string text = json.dump(2) + "\n";
  auto file = officina::AtomicFile::create(out);
  if (!file || !file->write(text.data(), text.size()) || !file->commit()) die("cannot write " + out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
