// Engine speed as llama-bench measures it, behind `officina bench`:
//   pp<N>: prefill of N random tokens into an empty KV-cache slot, in the
//          engine's prefill chunks (one forward for N <= chunk), logits of
//          the last row only — tokens per second of the whole prefill;
//   tg<N>: decoding of N tokens from an empty slot, one token per forward
//          with the KV cache, each next token the argmax of the logits
//          (greedy) — tokens per second over the N steps.
// Each test runs once unrecorded (warm-up: page faults of the mmap'd
// weights, caches, thread start-up), then `repetitions` timed times; the
// table and JSON give mean ± sample standard deviation of the per-run rates.
// Thread-safety: one run at a time per Transformer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "model/transformer.h"

namespace officina {

struct SpeedBenchOptions {
  int64_t n_prompt = 128;       // 0: no pp test
  int64_t n_gen = 64;           // 0: no tg test
  int repetitions = 5;          // timed runs per test (>= 1)
  int64_t prefill_chunk = 256;  // prompt rows per forward, as generate() uses
  uint64_t seed = 1;            // the random prompt's tokens
};

struct SpeedTest {
  std::string name;  // "pp128", "tg64"
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  std::vector<double> samples_ts;  // tokens per second of each timed run

  double mean_ts() const;
  double stddev_ts() const;  // sample standard deviation; 0 for one run
};

// Runs the pp test then the tg test (those with a non-zero count). Fails on
// bad options or when a forward fails (the message says which).
Result<std::vector<SpeedTest>> run_speed_bench(Transformer& transformer, const SpeedBenchOptions& options);

// What a row of the table says about the model and the machine.
struct SpeedBenchSetup {
  std::string model;     // file name without extension
  uint64_t size_bytes = 0;
  int64_t params = 0;
  std::string type;      // "Q4_K_M", "F16", ...
  int threads = 0;
};

// The llama-bench style markdown table:
// | model | size | params | type | threads | test | t/s |, t/s as "mean ± sd".
std::string speed_bench_table(const SpeedBenchSetup& setup, const std::vector<SpeedTest>& tests);
// A JSON array, one object per test: test, avg_ts, stddev_ts, samples_ts,
// n_prompt, n_gen, threads, model, type, model_size, model_params.
Json speed_bench_json(const SpeedBenchSetup& setup, const std::vector<SpeedTest>& tests);

}  // namespace officina
