#include "pdm/metrics.h"

#include <cmath>

namespace officina::pdm {

double phm08_term(double predicted, double truth) {
  const double d = predicted - truth;
  return d < 0 ? std::exp(-d / 13.0) - 1 : std::exp(d / 10.0) - 1;
}

Result<RulScores> score_rul(const std::vector<double>& predicted, const std::vector<double>& lo,
                            const std::vector<double>& hi, const std::vector<double>& truth) {
  const size_t n = truth.size();
  if (n == 0) return fail("no units to score");
  if (predicted.size() != n || lo.size() != n || hi.size() != n) {
    return fail("{} predictions for {} true RUL values", predicted.size(), n);
  }
  RulScores s;
  s.units = n;
  size_t inside = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = predicted[i] - truth[i];
    s.rmse += d * d;
    s.mae += std::abs(d);
    s.phm08 += phm08_term(predicted[i], truth[i]);
    s.mean_width += hi[i] - lo[i];
    if (lo[i] <= truth[i] && truth[i] <= hi[i]) ++inside;
  }
  s.rmse = std::sqrt(s.rmse / static_cast<double>(n));
  s.mae /= static_cast<double>(n);
  s.mean_width /= static_cast<double>(n);
  s.coverage = static_cast<double>(inside) / static_cast<double>(n);
  return s;
}

}  // namespace officina::pdm
