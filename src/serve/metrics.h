// Server metrics in the Prometheus text format (version 0.0.4): request
// counts by endpoint and status, prompt and generated tokens, queue length,
// active sequences, request latency and time-to-first-token histograms,
// adapter cache size and loads.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace officina {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  void observe(double seconds);
  // "name_bucket{le=...} n" lines, _sum and _count, with `labels` ("" or `endpoint="x"`).
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::array<int64_t, kBounds.size()> counts_{};
  int64_t count_ = 0;
  double sum_ = 0;
};

struct GaugeValues {
  int64_t queue_length = 0;
  int64_t active_sequences = 0;
  int64_t adapters_loaded = 0;
  int64_t adapters_known = 0;
  int64_t adapter_loads = 0;
  int64_t reused_prompt_tokens = 0;
  int64_t batch_steps = 0;
};

class Metrics {
 public:
  void count_request(const std::string& endpoint, int status, double seconds);
  void count_tokens(int64_t prompt, int64_t generated);
  void observe_first_token(double seconds);
  std::string render(const GaugeValues& gauges) const;
  int64_t requests(const std::string& endpoint, int status) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram first_token_;
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0;
};

}  // namespace officina
