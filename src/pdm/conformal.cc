#include "pdm/conformal.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace officina::pdm {

namespace {

// The k-th order statistic with k = ceil((n + 1) q) clamped to [1, n]:
// split conformal's finite-sample-valid quantile.
double conformal_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  size_t k = static_cast<size_t>(std::ceil((n + 1) * q));
  k = std::clamp<size_t>(k, 1, v.size());
  return v[k - 1];
}

}  // namespace

Result<ConformalCalibrator> ConformalCalibrator::fit(const std::vector<double>& predicted,
                                                     const std::vector<double>& truth, double coverage, int groups) {
  if (predicted.size() != truth.size()) return fail("conformal: {} predictions for {} truths", predicted.size(), truth.size());
  if (predicted.size() < 2) return fail("conformal: needs at least 2 calibration points, got {}", predicted.size());
  if (!(coverage > 0 && coverage < 1)) return fail("conformal: coverage {} must be in (0, 1)", coverage);
  ConformalCalibrator c;
  c.coverage_ = coverage;
  c.points_ = predicted.size();
  const size_t n = predicted.size();
  groups = std::max(1, std::min<int>(groups, static_cast<int>(n / 20)));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return predicted[a] < predicted[b]; });
  const double tail = (1 - coverage) / 2;
  size_t begin = 0;
  for (int g = 0; g < groups; ++g) {
    size_t end = g + 1 == groups ? n : (n * static_cast<size_t>(g + 1)) / static_cast<size_t>(groups);
    // Ties in p must not straddle two groups: a boundary value belongs to one.
    while (end < n && end > begin && predicted[order[end]] == predicted[order[end - 1]]) ++end;
    if (end <= begin) continue;
    std::vector<double> residual;
    for (size_t i = begin; i < end; ++i) residual.push_back(truth[order[i]] - predicted[order[i]]);
    // Lower quantile: the upper quantile of the negated residuals.
    std::vector<double> negated(residual.size());
    std::transform(residual.begin(), residual.end(), negated.begin(), [](double r) { return -r; });
    c.lo_.push_back(-conformal_quantile(negated, 1 - tail));
    c.hi_.push_back(conformal_quantile(residual, 1 - tail));
    if (end < n) c.upper_edges_.push_back(predicted[order[end - 1]]);
    begin = end;
    if (begin >= n) break;
  }
  c.upper_edges_.resize(c.lo_.size() - 1);
  return c;
}

Interval ConformalCalibrator::interval(double p) const {
  size_t g = static_cast<size_t>(std::lower_bound(upper_edges_.begin(), upper_edges_.end(), p) - upper_edges_.begin());
  return {std::max(0.0, p + lo_[g]), std::max(0.0, p + hi_[g])};
}

Json ConformalCalibrator::to_json() const {
  return {{"coverage", coverage_}, {"points", points_}, {"upper_edges", upper_edges_}, {"lo", lo_}, {"hi", hi_}};
}

Result<ConformalCalibrator> ConformalCalibrator::from_json(const Json& json, std::string_view where) {
  ConformalCalibrator c;
  try {
    c.coverage_ = json.at("coverage").get<double>();
    c.points_ = json.at("points").get<size_t>();
    c.upper_edges_ = json.at("upper_edges").get<std::vector<double>>();
    c.lo_ = json.at("lo").get<std::vector<double>>();
    c.hi_ = json.at("hi").get<std::vector<double>>();
  } catch (const std::exception& e) {
    return fail("{}: conformal calibration: {}", where, e.what());
  }
  if (c.lo_.empty() || c.hi_.size() != c.lo_.size() || c.upper_edges_.size() + 1 != c.lo_.size()) {
    return fail("{}: conformal calibration arrays do not match", where);
  }
  return c;
}

}  // namespace officina::pdm
