#include "pdm/feature_binner.h"

#include <algorithm>
#include <cmath>

namespace officina::pdm {

FeatureBinner FeatureBinner::fit(const double* rows, size_t n, size_t features, int max_bins, size_t sample) {
  FeatureBinner b;
  b.edges_.resize(features);
  max_bins = std::clamp(max_bins, 2, 256);
  const size_t stride = std::max<size_t>(1, n / std::max<size_t>(sample, 1));
  std::vector<double> v;
  for (size_t f = 0; f < features; ++f) {
    v.clear();
    for (size_t i = 0; i < n; i += stride) v.push_back(rows[i * features + f]);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::vector<double>& e = b.edges_[f];
    if (v.size() <= static_cast<size_t>(max_bins)) {
      // Few distinct values: one bin each, edges halfway between them.
      for (size_t i = 0; i + 1 < v.size(); ++i) e.push_back(v[i] + (v[i + 1] - v[i]) / 2);
    } else {
      // Quantiles of the distinct values would over-split sparse tails, so
      // take them over the sample with repeats (re-read it).
      std::vector<double> all;
      for (size_t i = 0; i < n; i += stride) all.push_back(rows[i * features + f]);
      std::sort(all.begin(), all.end());
      for (int q = 1; q < max_bins; ++q) {
        size_t idx = static_cast<size_t>(static_cast<double>(q) / max_bins * static_cast<double>(all.size()));
        idx = std::min(idx, all.size() - 1);
        double edge = all[idx];
        if (e.empty() || edge > e.back()) e.push_back(edge);
      }
      // The maximum must sit in the last bin, not on an edge that nothing exceeds.
      while (!e.empty() && e.back() >= all.back()) e.pop_back();
    }
  }
  return b;
}

uint8_t FeatureBinner::bin(size_t f, double x) const {
  const std::vector<double>& e = edges_[f];
  return static_cast<uint8_t>(std::lower_bound(e.begin(), e.end(), x) - e.begin());
}

BinnedMatrix FeatureBinner::transform(const double* rows, size_t n) const {
  BinnedMatrix m;
  m.rows = n;
  m.features = features();
  m.bins.resize(n * m.features);
  for (size_t f = 0; f < m.features; ++f) {
    uint8_t* col = m.bins.data() + f * n;
    for (size_t i = 0; i < n; ++i) col[i] = bin(f, rows[i * m.features + f]);
  }
  return m;
}

}  // namespace officina::pdm
