// Random streams: reproducible, independent per source, and every
// distribution with the mean (and where cheap the spread) it promises.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "twin/random_streams.h"
#include "twin/statistics.h"

namespace officina::twin {
namespace {

double sample_mean(const Distribution& d, uint64_t source, int n = 200000) {
  RandomStream rng(42, source);
  Sampler s(d);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    double x = rng.sample(s);
    EXPECT_GE(x, 0);
    sum += x;
  }
  return sum / n;
}

TEST(RandomStreams, SameSeedAndSourceGiveTheSameNumbers) {
  RandomStream a(7, source_id("L/press/cycle")), b(7, source_id("L/press/cycle"));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
}

TEST(RandomStreams, DifferentSourcesAndSeedsDiffer) {
  RandomStream a(7, source_id("L/press/cycle")), b(7, source_id("L/cnc/cycle")), c(8, source_id("L/press/cycle"));
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.next_u64();
    same_ab += x == b.next_u64();
    same_ac += x == c.next_u64();
  }
  EXPECT_EQ(same_ab, 0);
  EXPECT_EQ(same_ac, 0);
  EXPECT_NE(replication_seed(1, 0), replication_seed(1, 1));
  EXPECT_NE(replication_seed(1, 0), replication_seed(2, 0));
}

TEST(RandomStreams, UniformIsInsideTheOpenIntervalWithMeanOneHalf) {
  RandomStream rng(1, 2);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = rng.uniform();
    ASSERT_GT(u, 0);
    ASSERT_LT(u, 1);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

TEST(RandomStreams, DistributionsHaveTheirMeans) {
  struct Case {
    Distribution d;
    double tolerance;  // relative
  };
  const Case cases[] = {
      {Distribution::fixed(12), 1e-12},
      {Distribution::exponential(30), 0.01},
      {{DistributionKind::kNormal, 50, 5, 0}, 0.005},
      {{DistributionKind::kLognormal, 40, 15, 0}, 0.01},
      {{DistributionKind::kTriangular, 10, 12, 20}, 0.005},
      {{DistributionKind::kWeibull, 2.5, 100, 0}, 0.01},
      {{DistributionKind::kWeibull, 0.8, 100, 0}, 0.02},
  };
  uint64_t source = 1;
  for (const Case& c : cases) {
    EXPECT_NEAR(sample_mean(c.d, source++), c.d.mean(), c.tolerance * c.d.mean())
        << distribution_name(c.d.kind) << " " << c.d.a << " " << c.d.b << " " << c.d.c;
  }
}

TEST(RandomStreams, LognormalHasTheRequestedSpread) {
  RandomStream rng(3, 4);
  Sampler s(Distribution{DistributionKind::kLognormal, 40, 15, 0});
  double sum = 0, sum2 = 0;
  const int n = 400000;
  for (int i = 0; i < n; ++i) {
    double x = rng.sample(s);
    sum += x;
    sum2 += x * x;
  }
  double mean = sum / n;
  EXPECT_NEAR(std::sqrt(sum2 / n - mean * mean), 15, 0.3);
}

// Largest distance between the empirical CDF of xs and cdf, checked at
// every sample (the Kolmogorov-Smirnov statistic).
template <class Cdf>
double ks_distance(std::vector<double> xs, Cdf cdf) {
  std::sort(xs.begin(), xs.end());
  const double n = static_cast<double>(xs.size());
  double d = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, std::abs(f - i / n), std::abs((i + 1) / n - f)});
  }
  return d;
}

TEST(RandomStreams, ZigguratLayersHaveEqualAreas) {
  for (auto kind : {detail::ZigguratDensity::kNormal, detail::ZigguratDensity::kExponential}) {
    const detail::Ziggurat& z = kind == detail::ZigguratDensity::kNormal ? detail::normal_ziggurat() : detail::exponential_ziggurat();
    const double area = z.x[0] * z.f[1];  // the base strip, tail included
    EXPECT_EQ(z.x[1], z.r);
    EXPECT_EQ(z.x[detail::Ziggurat::kLayers], 0);
    EXPECT_EQ(z.f[detail::Ziggurat::kLayers], 1);
    for (int i = 1; i < detail::Ziggurat::kLayers; ++i) {
      ASSERT_GT(z.x[i], z.x[i + 1]);
      ASSERT_LT(z.f[i], z.f[i + 1]);
      ASSERT_NEAR(z.x[i] * (z.f[i + 1] - z.f[i]), area, 1e-9 * area) << "layer " << i;
    }
  }
  // The well-known edges of 256-layer ziggurats.
  EXPECT_NEAR(detail::normal_ziggurat().r, 3.6541528853610088, 1e-12);
  EXPECT_NEAR(detail::exponential_ziggurat().r, 7.6971174701310497, 1e-12);
}

TEST(RandomStreams, ZigguratNormalMatchesTheNormalDistribution) {
  RandomStream rng(11, 12);
  const int n = 1000000;
  std::vector<double> xs(n);
  double sum = 0, sum2 = 0, sum4 = 0;
  int beyond_r = 0, negative = 0;
  for (double& x : xs) {
    x = rng.standard_normal();
    sum += x;
    sum2 += x * x;
    sum4 += x * x * x * x;
    beyond_r += std::abs(x) > detail::normal_ziggurat().r;
    negative += x < 0;
  }
  EXPECT_NEAR(sum / n, 0, 0.005);
  EXPECT_NEAR(sum2 / n, 1, 0.005);
  EXPECT_NEAR(sum4 / n, 3, 0.05);  // kurtosis: the tails have the right weight
  EXPECT_NEAR(negative, n / 2, 2500);
  // P(|Z| > 3.654) = 2.58e-4: the tail algorithm's share, 258 +- 16 expected.
  EXPECT_NEAR(beyond_r, 258, 80);
  // KS at n = 1e6: 1.95e-3 is the 0.1% critical value.
  EXPECT_LT(ks_distance(xs, [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }), 1.95e-3);
}

TEST(RandomStreams, ZigguratExponentialMatchesTheExponentialDistribution) {
  RandomStream rng(13, 14);
  const int n = 1000000;
  std::vector<double> xs(n);
  double sum = 0, sum2 = 0;
  int beyond_r = 0;
  for (double& x : xs) {
    x = rng.standard_exponential();
    ASSERT_GE(x, 0);
    sum += x;
    sum2 += x * x;
    beyond_r += x > detail::exponential_ziggurat().r;
  }
  EXPECT_NEAR(sum / n, 1, 0.005);
  EXPECT_NEAR(sum2 / n, 2, 0.02);
  // P(X > 7.697) = 4.54e-4: 454 +- 21 expected.
  EXPECT_NEAR(beyond_r, 454, 100);
  EXPECT_LT(ks_distance(xs, [](double x) { return -std::expm1(-x); }), 1.95e-3);
  RandomStream a(5, 6), b(5, 6);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(a.exponential(3), 3 * b.standard_exponential());
}

TEST(Statistics, StudentQuantilesAndIntervals) {
  EXPECT_NEAR(student_t975(1), 12.706, 1e-3);
  EXPECT_NEAR(student_t975(9), 2.262, 1e-3);
  EXPECT_NEAR(student_t975(30), 2.042, 1e-3);
  EXPECT_NEAR(student_t975(40), 2.021, 2e-4);
  EXPECT_NEAR(student_t975(120), 1.980, 2e-4);
  std::vector<double> xs = {1, 2, 3, 4, 5};
  Estimate e = estimate(xs);
  EXPECT_DOUBLE_EQ(e.mean, 3);
  // sd = sqrt(2.5), half width = t(4) * sd / sqrt(5) = 2.776 * 0.7071.
  EXPECT_NEAR(e.hi - e.mean, 2.776445 * std::sqrt(2.5 / 5), 1e-5);
  EXPECT_NEAR(e.mean - e.lo, e.hi - e.mean, 1e-12);
  std::vector<double> one = {4};
  EXPECT_EQ(estimate(one).lo, 4);
}

}  // namespace
}  // namespace officina::twin
