// Multivariate health index and alarms.
//
// Input is the preprocessed sensors of a unit (per-regime median/MAD
// z-scores, EWMA-smoothed; see Preprocessor). The health index of a cycle is
//   HI = sqrt(D² / k),  D² = (z - mu)ᵀ Σ⁻¹ (z - mu)
// where mu and Σ are the mean and covariance of the healthy start of the
// training units, Σ shrunk towards a scaled identity with the Ledoit-Wolf
// weight (so it is well conditioned even for correlated or near-constant
// sensors). A healthy unit's HI stays around 1. Sensor i's contribution to
// D² is (z - mu)_i (Σ⁻¹ (z - mu))_i; they sum to D² and say which sensors
// drive an alarm.
//
// Alarms use hysteresis: one opens when HI exceeds `on` for `persistence`
// consecutive cycles (starting at the first of them) and closes when HI stays
// below `off` < `on` for `persistence` cycles (ending at the last cycle before
// them); an alarm still open at the unit's last cycle is reported as open.
// `on` is the `on_quantile` of the training units' healthy HI times
// `on_factor`.
//
// Shapes: z is [cycles, k]; contributions are [cycles, k].
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"

namespace officina::pdm {

struct HealthOptions {
  double on_quantile = 0.999;
  double on_factor = 1.5;
  double off_ratio = 0.8;
  int persistence = 3;
  int max_drivers = 3;
  double driver_share = 0.1;  // a driver explains at least this share of D²
};

struct Alarm {
  int64_t unit = 0;
  int64_t start_cycle = 0;
  int64_t end_cycle = 0;
  bool open = false;  // still active at the last cycle seen
  double peak = 0;    // the highest HI during the alarm
  std::vector<size_t> drivers;  // sensor indices (into the kept sensors), strongest first
};

class HealthModel {
 public:
  // healthy_rows: [n, k] smoothed z rows from the healthy starts. Fails when
  // there are fewer than 2 rows.
  static Result<HealthModel> fit(const std::vector<double>& healthy_rows, size_t k, const HealthOptions& options);

  // HI per cycle; fills contributions ([cycles, k]) when given.
  std::vector<double> health_index(const std::vector<double>& z, std::vector<double>* contributions = nullptr) const;
  // Alarms of one unit (cycles gives the cycle numbers of z's rows).
  std::vector<Alarm> alarms(int64_t unit, const std::vector<int64_t>& cycles, const std::vector<double>& z) const;
  // The strongest sensors of a summed contribution row [k].
  std::vector<size_t> drivers(const double* contributions) const;

  double on_threshold() const { return on_; }
  double off_threshold() const { return off_; }
  double shrinkage() const { return shrinkage_; }
  size_t dims() const { return k_; }

  Json to_json() const;
  static Result<HealthModel> from_json(const Json& json, std::string_view where);

 private:
  size_t k_ = 0;
  std::vector<double> mean_;       // [k]
  std::vector<double> precision_;  // [k, k] = Σ⁻¹
  double shrinkage_ = 0;
  double on_ = 0, off_ = 0;
  int persistence_ = 3, max_drivers_ = 3;
  double driver_share_ = 0.1;
};

}  // namespace officina::pdm
