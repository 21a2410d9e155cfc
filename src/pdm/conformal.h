// Split-conformal prediction intervals for RUL, calibrated on held-out units.
//
// Residuals y - p of calibration points are grouped by the predicted value
// (Mondrian conformal: `groups` equal-count bins of p, because a prediction
// near the cap is far less certain than one near failure), and each group
// keeps the lower and upper (1 - coverage) / 2 quantiles of its residuals
// with the finite-sample correction (the ceil((n + 1) q)-th order
// statistic). interval(p) = [max(0, p + lo), p + hi]. With exchangeable
// calibration and test units, a `coverage` interval contains the true RUL of
// at least that share of units on average. Groups are merged until each
// holds at least 20 points.
//
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <vector>

#include "base/error.h"
#include "base/json_util.h"

namespace officina::pdm {

struct Interval {
  double lo = 0, hi = 0;
};

class ConformalCalibrator {
 public:
  // Fails with fewer than 2 points or a coverage outside (0, 1).
  static Result<ConformalCalibrator> fit(const std::vector<double>& predicted, const std::vector<double>& truth,
                                         double coverage, int groups = 3);

  Interval interval(double predicted) const;
  double coverage() const { return coverage_; }
  size_t points() const { return points_; }

  Json to_json() const;
  static Result<ConformalCalibrator> from_json(const Json& json, std::string_view where);

 private:
  double coverage_ = 0.9;
  size_t points_ = 0;
  std::vector<double> upper_edges_;  // [groups - 1]: group g holds p <= upper_edges_[g]
  std::vector<double> lo_, hi_;      // [groups] residual quantiles
};

}  // namespace officina::pdm
