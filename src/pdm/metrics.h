// Scores for RUL predictions against the true RUL of test units:
// RMSE; the PHM08 challenge score s = sum over units of exp(-d/13) - 1 for
// d < 0 and exp(d/10) - 1 for d >= 0, with d = predicted - true (late
// predictions, which would let a machine fail, cost more); mean absolute
// error; and the share of true values inside [lo, hi].
// Pure functions; thread-safe.
#pragma once

#include <vector>

#include "base/error.h"

namespace officina::pdm {

struct RulScores {
  size_t units = 0;
  double rmse = 0;
  double mae = 0;
  double phm08 = 0;
  double coverage = 0;      // share with lo <= true <= hi
  double mean_width = 0;    // mean hi - lo
};

double phm08_term(double predicted, double truth);

// Fails when the vectors differ in length or are empty.
Result<RulScores> score_rul(const std::vector<double>& predicted, const std::vector<double>& lo,
                            const std::vector<double>& hi, const std::vector<double>& truth);

}  // namespace officina::pdm
