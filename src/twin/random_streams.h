// Seeded random streams for the simulator: one independent stream per source
// (a machine's cycle times, one failure mode, one sensor's noise, a line's
// arrivals...). A stream's start is derived from (seed, source id) and the
// source id from the source's name, so adding or changing one machine never
// shifts the numbers another machine sees, and replication r of a baseline and
// of a scenario see the same numbers (common random numbers).
// The generator is SplitMix64 (a 64-bit Weyl sequence through a strong mixer):
// 8 bytes of state, a few cycles per draw, no allocation.
// Not thread-safe per stream; give each thread its own streams.
#pragma once

#include <cstdint>
#include <string_view>

#include "twin/plant.h"

namespace officina::twin {

// The finalizer of SplitMix64: a bijective 64-bit mixer.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a of a source name such as "line/press/failure/hydraulic_leak".
uint64_t source_id(std::string_view name);

// The seed of replication r of a run seeded with seed.
uint64_t replication_seed(uint64_t seed, uint64_t replication);

// A distribution with its parameters precomputed for sampling.
struct Sampler {
  DistributionKind kind = DistributionKind::kFixed;
  double p0 = 0, p1 = 0, p2 = 0, p3 = 0;

  Sampler() = default;
  explicit Sampler(const Distribution& d);
};

class RandomStream {
 public:
  RandomStream() = default;
  RandomStream(uint64_t seed, uint64_t source) : state_(mix64(seed ^ mix64(source + 0x9e3779b97f4a7c15ull))) {}

  uint64_t next_u64() {
    state_ += 0x9e3779b97f4a7c15ull;
    return mix64(state_);
  }
  // Uniform on the open interval (0, 1): never 0, so log() is safe.
  double uniform() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }
  bool bernoulli(double p) { return uniform() < p; }
  double exponential(double mean);
  double standard_normal();
  double normal(double mean, double sd) { return mean + sd * standard_normal(); }
  // A draw of d; never negative.
  double sample(const Sampler& d);

 private:
  uint64_t state_ = 0;
};

}  // namespace officina::twin
