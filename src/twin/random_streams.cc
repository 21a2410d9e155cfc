#include "twin/random_streams.h"

#include <cmath>
#include <numbers>

namespace officina::twin {

uint64_t source_id(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t replication_seed(uint64_t seed, uint64_t replication) {
  return mix64(mix64(seed) + mix64(replication ^ 0x5851f42d4c957f2dull));
}

Sampler::Sampler(const Distribution& d) : kind(d.kind) {
  switch (d.kind) {
    case DistributionKind::kFixed:
    case DistributionKind::kExponential:
      p0 = d.a;
      break;
    case DistributionKind::kNormal:
      p0 = d.a;
      p1 = d.b;
      break;
    case DistributionKind::kLognormal: {
      // From the mean m and sd s of the variable to those of its logarithm.
      double sigma2 = std::log1p((d.b / d.a) * (d.b / d.a));
      p0 = std::log(d.a) - sigma2 / 2;
      p1 = std::sqrt(sigma2);
      break;
    }
    case DistributionKind::kTriangular:
      p0 = d.a;
      p1 = d.c;
      p2 = d.c > d.a ? (d.b - d.a) / (d.c - d.a) : 0;  // CDF at the mode
      p3 = d.b;
      break;
    case DistributionKind::kWeibull:
      p0 = 1 / d.a;
      p1 = d.b;
      break;
  }
}

double RandomStream::exponential(double mean) { return -mean * std::log(uniform()); }

double RandomStream::standard_normal() {
  // Box-Muller without a cached spare keeps the stream's state one word.
  double u1 = uniform();
  double u2 = uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

double RandomStream::sample(const Sampler& d) {
  switch (d.kind) {
    case DistributionKind::kFixed:
      return d.p0;
    case DistributionKind::kExponential:
      return exponential(d.p0);
    case DistributionKind::kNormal:
      // Truncated at zero by rejection; validation keeps mean > 0 so this ends fast.
      for (int i = 0; i < 64; ++i) {
        double x = normal(d.p0, d.p1);
        if (x >= 0) return x;
      }
      return 0;
    case DistributionKind::kLognormal:
      return std::exp(d.p0 + d.p1 * standard_normal());
    case DistributionKind::kTriangular: {
      double u = uniform();
      double a = d.p0, c = d.p1, m = d.p3;
      if (u < d.p2) return a + std::sqrt(u * (c - a) * (m - a));
      return c - std::sqrt((1 - u) * (c - a) * (c - m));
    }
    case DistributionKind::kWeibull:
      return d.p1 * std::pow(-std::log(uniform()), d.p0);
  }
  return 0;
}

}  // namespace officina::twin
