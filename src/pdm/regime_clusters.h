// Operating regimes: clusters of the operating settings (k-means on the
// standardised settings), so sensors can be normalised per regime. Datasets
// like C-MAPSS FD002/FD004 run in six tight flight conditions; FD001 and the
// twin's exports have noisy or continuous settings and no regimes at all.
// fit() picks the smallest k (2..max_regimes) whose clusters explain at least
// `explained` of the settings' variance and falls back to a single regime
// when none does, or when every setting is constant.
//
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"

namespace officina::pdm {

struct RegimeOptions {
  int max_regimes = 8;
  double explained = 0.98;
  uint64_t seed = 1;
};

class RegimeClusters {
 public:
  // rows: [n, settings] row-major. Never fails (a single regime at worst).
  static RegimeClusters fit(const std::vector<double>& rows, size_t settings, const RegimeOptions& options);

  int count() const { return count_; }
  // The regime of one settings row (nearest centre in standardised units).
  int assign(const double* settings) const;

  Json to_json() const;
  // "WHERE: ..." when fields are missing or inconsistent.
  static Result<RegimeClusters> from_json(const Json& json, size_t settings, std::string_view where);

 private:
  int count_ = 1;
  size_t settings_ = 0;
  std::vector<double> center_, scale_;  // [settings] standardisation; scale 0 = ignored
  std::vector<double> centroids_;       // [count, settings] in standardised units
};

}  // namespace officina::pdm
