#include "generate/speed_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "base/random.h"

namespace officina {

double SpeedTest::mean_ts() const {
  if (samples_ts.empty()) return 0;
  return std::accumulate(samples_ts.begin(), samples_ts.end(), 0.0) / static_cast<double>(samples_ts.size());
}

double SpeedTest::stddev_ts() const {
  if (samples_ts.size() < 2) return 0;
  const double mean = mean_ts();
  double sum = 0;
  for (double s : samples_ts) sum += (s - mean) * (s - mean);
  return std::sqrt(sum / static_cast<double>(samples_ts.size() - 1));
}

namespace {

using Clock = std::chrono::steady_clock;

// One timed prefill of `prompt` into an empty slot 0; returns seconds.
Result<double> time_prefill(Transformer& transformer, KvCache& cache, const std::vector<int32_t>& prompt,
                            int64_t chunk, std::vector<float>& logits) {
  std::vector<BatchRow> rows;
  cache.clear(0);
  const auto n = static_cast<int64_t>(prompt.size());
  const auto t0 = Clock::now();
  for (int64_t start = 0; start < n; start += chunk) {
    rows.clear();
    for (int64_t i = start; i < std::min(start + chunk, n); ++i)
      rows.push_back({prompt[static_cast<size_t>(i)], 0, static_cast<int32_t>(i), -1, i + 1 == n});
    OFFICINA_CHECK(transformer.forward(rows, cache, logits));
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One timed greedy decode of n tokens from an empty slot 0; returns seconds.
Result<double> time_decode(Transformer& transformer, KvCache& cache, int32_t first, int64_t n,
                           std::vector<float>& logits) {
  cache.clear(0);
  int32_t token = first;
  const auto t0 = Clock::now();
  for (int64_t pos = 0; pos < n; ++pos) {
    const BatchRow row{token, 0, static_cast<int32_t>(pos), -1, true};
    OFFICINA_CHECK(transformer.forward(std::span<const BatchRow>(&row, 1), cache, logits));
    token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Tokens per second, guarding against a clock that did not move.
double rate(int64_t tokens, double seconds) { return static_cast<double>(tokens) / std::max(seconds, 1e-9); }

std::string human_size(uint64_t bytes) {
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  return mib >= 1024.0 ? fmt::format("{:.2f} GiB", mib / 1024.0) : fmt::format("{:.2f} MiB", mib);
}

std::string human_params(int64_t params) {
  const double p = static_cast<double>(params);
  return p >= 1e9 ? fmt::format("{:.2f} B", p / 1e9) : fmt::format("{:.2f} M", p / 1e6);
}

}  // namespace

Result<std::vector<SpeedTest>> run_speed_bench(Transformer& transformer, const SpeedBenchOptions& options) {
  if (options.n_prompt < 0 || options.n_gen < 0)
    return fail("bench: -p and -n must not be negative (got {} and {})", options.n_prompt, options.n_gen);
  if (options.n_prompt == 0 && options.n_gen == 0) return fail("bench: nothing to measure (-p and -n are both 0)");
  if (options.repetitions < 1) return fail("bench: -r must be at least 1, got {}", options.repetitions);
  const Model& model = transformer.model();
  const ModelConfig& c = model.config();
  const int64_t longest = std::max(options.n_prompt, options.n_gen);
  if (longest > c.context_length)
    return fail("bench: {} tokens do not fit the model's context of {}", longest, c.context_length);
  OFFICINA_TRY(KvCache cache, KvCache::create(c, 1, longest, default_kv_precision(model)));

  Rng rng(options.seed);
  auto random_token = [&] { return static_cast<int32_t>(rng.next() % static_cast<uint64_t>(c.vocab_size)); };
  std::vector<float> logits;
  std::vector<SpeedTest> tests;
  const int64_t chunk = std::max<int64_t>(1, options.prefill_chunk);
  if (options.n_prompt > 0) {
    SpeedTest test{fmt::format("pp{}", options.n_prompt), options.n_prompt, 0, {}};
    std::vector<int32_t> prompt(static_cast<size_t>(options.n_prompt));
    for (auto& t : prompt) t = random_token();
    OFFICINA_CHECK(time_prefill(transformer, cache, prompt, chunk, logits));  // warm-up
    for (int r = 0; r < options.repetitions; ++r) {
      OFFICINA_TRY(double seconds, time_prefill(transformer, cache, prompt, chunk, logits));
      test.samples_ts.push_back(rate(options.n_prompt, seconds));
    }
    tests.push_back(std::move(test));
  }
  if (options.n_gen > 0) {
    SpeedTest test{fmt::format("tg{}", options.n_gen), 0, options.n_gen, {}};
    const int32_t first = random_token();
    OFFICINA_CHECK(time_decode(transformer, cache, first, options.n_gen, logits));  // warm-up
    for (int r = 0; r < options.repetitions; ++r) {
      OFFICINA_TRY(double seconds, time_decode(transformer, cache, first, options.n_gen, logits));
      test.samples_ts.push_back(rate(options.n_gen, seconds));
    }
    tests.push_back(std::move(test));
  }
  return tests;
}

std::string speed_bench_table(const SpeedBenchSetup& setup, const std::vector<SpeedTest>& tests) {
  std::string out = "| model | size | params | type | threads | test | t/s |\n";
  out += "| --- | ---: | ---: | --- | ---: | ---: | ---: |\n";
  for (const SpeedTest& t : tests)
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {:.2f} ± {:.2f} |\n", setup.model, human_size(setup.size_bytes),
                       human_params(setup.params), setup.type, setup.threads, t.name, t.mean_ts(), t.stddev_ts());
  return out;
}

Json speed_bench_json(const SpeedBenchSetup& setup, const std::vector<SpeedTest>& tests) {
  Json rows = Json::array();
  for (const SpeedTest& t : tests) {
    rows.push_back({{"test", t.name},
                    {"avg_ts", t.mean_ts()},
                    {"stddev_ts", t.stddev_ts()},
                    {"samples_ts", t.samples_ts},
                    {"n_prompt", t.n_prompt},
                    {"n_gen", t.n_gen},
                    {"threads", setup.threads},
                    {"model", setup.model},
                    {"type", setup.type},
                    {"model_size", setup.size_bytes},
                    {"model_params", setup.params}});
  }
  return rows;
}

}  // namespace officina
