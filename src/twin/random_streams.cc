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

namespace detail {

namespace {

struct Density {
  ZigguratDensity kind;
  double f(double x) const { return kind == ZigguratDensity::kNormal ? std::exp(-0.5 * x * x) : std::exp(-x); }
  double inverse(double y) const { return kind == ZigguratDensity::kNormal ? std::sqrt(-2 * std::log(y)) : -std::log(y); }
  // The area under f beyond r.
  double tail(double r) const {
    return kind == ZigguratDensity::kNormal ? std::sqrt(std::numbers::pi / 2) * std::erfc(r / std::numbers::sqrt2) : std::exp(-r);
  }
};

// Stacks layers of area v = r f(r) + tail(r) from r upwards and returns how
// far the last one overshoots the top f(0) = 1 (> 0: the layers are too big,
// so r is too small).
double overshoot(const Density& d, double r, Ziggurat* z) {
  const double v = r * d.f(r) + d.tail(r);
  double x = r;
  for (int i = 1; i < Ziggurat::kLayers; ++i) {
    if (z) {
      z->x[i] = x;
      z->f[i] = d.f(x);
    }
    const double y = d.f(x) + v / x;
    if (i == Ziggurat::kLayers - 1) return y - 1;
    if (y >= 1) return 1;  // reached the top too early
    x = d.inverse(y);
  }
  return -1;
}

}  // namespace

Ziggurat make_ziggurat(ZigguratDensity kind) {
  // r is where the stacked layers end exactly at the top; bisection finds it
  // to the last bit, so no table constants need copying from anywhere.
  const Density d{kind};
  double lo = 0.5, hi = 20;
  for (int it = 0; it < 200 && lo < hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid == lo || mid == hi) break;
    (overshoot(d, mid, nullptr) > 0 ? lo : hi) = mid;
  }
  Ziggurat z{};
  z.r = hi;
  overshoot(d, z.r, &z);
  z.x[0] = (z.r * d.f(z.r) + d.tail(z.r)) / d.f(z.r);
  z.f[0] = 0;
  z.x[Ziggurat::kLayers] = 0;
  z.f[Ziggurat::kLayers] = 1;
  return z;
}

}  // namespace detail

double RandomStream::exponential_edge(unsigned layer, double x) {
  const detail::Ziggurat& z = detail::exponential_ziggurat();
  // The tail beyond r is r + Exp(1): the exponential has no memory.
  if (layer == 0) return z.r + standard_exponential();
  const double y = z.f[layer] + uniform() * (z.f[layer + 1] - z.f[layer]);
  return y < std::exp(-x) ? x : standard_exponential();
}

double RandomStream::normal_edge(unsigned layer, double x, bool negative) {
  const detail::Ziggurat& z = detail::normal_ziggurat();
  if (layer == 0) {
    // Marsaglia's tail method: r + a with a ~ Exp(r), accepted with
    // probability exp(-a^2 / 2).
    double a, e;
    do {
      a = standard_exponential() / z.r;
      e = standard_exponential();
    } while (e + e < a * a);
    x = z.r + a;
  } else {
    const double y = z.f[layer] + uniform() * (z.f[layer + 1] - z.f[layer]);
    if (!(y < std::exp(-0.5 * x * x))) return standard_normal();
  }
  return negative ? -x : x;
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
      // The inverse CDF, scale * (-log U)^(1/shape), with -log U ~ Exp(1).
      return d.p1 * std::pow(standard_exponential(), d.p0);
  }
  return 0;
}

}  // namespace officina::twin
