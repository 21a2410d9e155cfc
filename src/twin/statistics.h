// Small statistics for replicated simulations: the Student t quantile and
// mean with a 95% confidence interval. Thread-safe (pure functions).
#pragma once

#include <span>

namespace officina::twin {

// The 0.975 quantile of Student's t with df degrees of freedom (df >= 1):
// exact table values up to 30, a Cornish-Fisher expansion beyond (error < 1e-4).
double student_t975(int df);

struct Estimate {
  double mean = 0;
  double lo = 0;  // 95% confidence interval; lo == hi == mean for one sample
  double hi = 0;
};

// Mean and t-based 95% CI of independent samples; zeros for an empty span.
Estimate estimate(std::span<const double> samples);

}  // namespace officina::twin
