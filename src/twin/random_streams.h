// Seeded random streams for the simulator: one independent stream per source
// (a machine's cycle times, one failure mode, one sensor's noise, a line's
// arrivals...). A stream's start is derived from (seed, source id) and the
// source id from the source's name, so adding or changing one machine never
// shifts the numbers another machine sees, and replication r of a baseline and
// of a scenario see the same numbers (common random numbers).
// The generator is SplitMix64 (a 64-bit Weyl sequence through a strong mixer):
// 8 bytes of state, a few cycles per draw, no allocation. Normal and
// exponential variates use Marsaglia and Tsang's ziggurat (256 layers): one
// draw, a table look-up and a multiply in about 99% of calls, exact
// distributions, no log/cos per sample (Box-Muller and -log(u) were a quarter
// of the simulator's time). A variate consumes a variable number of draws, but
// the same ones for the same stream, so runs stay a pure function of the seed.
// Not thread-safe per stream; give each thread its own streams (the shared
// ziggurat tables are built once, thread-safely, and then only read).
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

namespace detail {

// The layers of a ziggurat under a decreasing density f on [0, inf): layer 0
// is the base strip [0, r] x [0, f(r)] plus the tail beyond r, layer i >= 1
// the box [0, x[i]] x [f(x[i]), f(x[i+1])]; all 256 have the same area.
struct Ziggurat {
  static constexpr int kLayers = 256;
  double x[kLayers + 1];  // x[0] = area / f(r), x[1] = r > x[2] > ... > x[256] = 0
  double f[kLayers + 1];  // f(x[i])
  double r;
};

enum class ZigguratDensity { kNormal, kExponential };  // exp(-x^2 / 2), exp(-x)

Ziggurat make_ziggurat(ZigguratDensity density);

inline const Ziggurat& normal_ziggurat() {
  static const Ziggurat table = make_ziggurat(ZigguratDensity::kNormal);
  return table;
}

inline const Ziggurat& exponential_ziggurat() {
  static const Ziggurat table = make_ziggurat(ZigguratDensity::kExponential);
  return table;
}

}  // namespace detail

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

  // Exp(1). Bits 0-7 of a draw pick the layer, bits 11-63 the point in it.
  double standard_exponential() {
    const detail::Ziggurat& z = detail::exponential_ziggurat();
    const uint64_t b = next_u64();
    const unsigned i = b & 0xff;
    const double x = static_cast<double>(b >> 11) * 0x1.0p-53 * z.x[i];
    if (x < z.x[i + 1]) return x;  // inside the layer's core: under f whatever the height
    return exponential_edge(i, x);
  }
  // N(0, 1). As standard_exponential, and bit 8 is the sign.
  double standard_normal() {
    const detail::Ziggurat& z = detail::normal_ziggurat();
    const uint64_t b = next_u64();
    const unsigned i = b & 0xff;
    const double x = static_cast<double>(b >> 11) * 0x1.0p-53 * z.x[i];
    const bool negative = (b & 0x100) != 0;
    if (x < z.x[i + 1]) return negative ? -x : x;
    return normal_edge(i, x, negative);
  }
  double exponential(double mean) { return mean * standard_exponential(); }
  double normal(double mean, double sd) { return mean + sd * standard_normal(); }
  // A draw of d; never negative.
  double sample(const Sampler& d);

 private:
  // The rare cases: the tail (layer 0) or the wedge beside a layer's core,
  // accepted or rejected (then a fresh variate is drawn).
  double exponential_edge(unsigned layer, double x);
  double normal_edge(unsigned layer, double x, bool negative);

  uint64_t state_ = 0;
};

}  // namespace officina::twin
