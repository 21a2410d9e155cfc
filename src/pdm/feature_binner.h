// Histogram binning for gradient-boosted trees: each feature's values are
// cut into at most `max_bins` (<= 256) bins at quantiles of a sample, so
// split finding scans bin histograms instead of sorted values.
//
// bin(f, x) is the index of the first edge >= x (the last bin, edges().size(),
// holds everything above the last edge). Hence x <= edge[b] exactly when
// bin(f, x) <= b, which lets a tree grown on bins keep real-valued thresholds
// and predict on raw features with identical results.
//
// Shapes: rows are [n, features] row-major; BinnedMatrix is column-major
// [features, n] (a feature's bins are contiguous, as histograms read them).
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace officina::pdm {

struct BinnedMatrix {
  size_t rows = 0, features = 0;
  std::vector<uint8_t> bins;  // [features, rows]
  const uint8_t* column(size_t f) const { return bins.data() + f * rows; }
};

class FeatureBinner {
 public:
  // Learns edges from at most `sample` rows (evenly strided).
  static FeatureBinner fit(const double* rows, size_t n, size_t features, int max_bins, size_t sample = 50000);

  size_t features() const { return edges_.size(); }
  const std::vector<double>& edges(size_t f) const { return edges_[f]; }
  int bin_count(size_t f) const { return static_cast<int>(edges_[f].size()) + 1; }
  uint8_t bin(size_t f, double x) const;
  BinnedMatrix transform(const double* rows, size_t n) const;

 private:
  std::vector<std::vector<double>> edges_;
};

}  // namespace officina::pdm
