#include "twin/statistics.h"

#include <cmath>

namespace officina::twin {

double student_t975(int df) {
  static constexpr double kTable[] = {
      12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135,
      2.262157163,  2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299,
      2.109815578,  2.100922040, 2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
      2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
  if (df < 1) df = 1;
  if (df <= 30) return kTable[df - 1];
  // Cornish-Fisher expansion of t around the normal quantile.
  const double z = 1.959963984540054;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  const double n = df;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

Estimate estimate(std::span<const double> samples) {
  const size_t n = samples.size();
  if (n == 0) return {};
  double mean = 0;
  for (double x : samples) mean += x;
  mean /= n;
  if (n == 1) return {mean, mean, mean};
  double ss = 0;
  for (double x : samples) ss += (x - mean) * (x - mean);
  const double half = student_t975(static_cast<int>(n) - 1) * std::sqrt(ss / (n - 1) / n);
  return {mean, mean - half, mean + half};
}

}  // namespace officina::twin
