// Preprocessing learned on training data and stored with the model:
//  - sensor selection: a sensor that is constant (or quantised to one value
//    for at least 95 % of cycles) within every operating regime is dropped
//    (the public turbofan sets have several such sensors);
//  - operating regimes (RegimeClusters) and per-regime robust normalisation:
//    z = (x - median) / (1.4826 MAD) of the regime's readings from the
//    healthy start of the training units (the first `healthy_fraction` of each
//    unit's life, at least 5 cycles), falling back to the standard deviation,
//    then to 1, when a scale is zero;
//  - noise smoothing: an EWMA per unit (smooth()).
// Units of any length, including one cycle, go through.
//
// Shapes: transform() returns [cycles, kept_sensors()] row-major.
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "pdm/regime_clusters.h"
#include "pdm/run_dataset.h"

namespace officina::pdm {

struct PreprocessOptions {
  double healthy_fraction = 0.25;
  double constant_mode_share = 0.95;
  double smoothing_alpha = 0.3;  // EWMA weight of the newest cycle; 1 = none
  RegimeOptions regimes;
};

class Preprocessor {
 public:
  // Fails when the training set has no usable sensor ("every sensor is constant").
  static Result<Preprocessor> fit(const RunDataset& train, const PreprocessOptions& options);

  // Checks that DATA has the columns the model was trained on; the message
  // names both counts.
  Result<void> check_compatible(const RunDataset& data) const;

  // Per-regime normalised kept sensors of one unit: [cycles, kept].
  std::vector<double> transform(const RunDataset& data, const Unit& unit) const;
  // The same, EWMA-smoothed along cycles.
  std::vector<double> smooth(const std::vector<double>& normalised) const;

  int regime_of(const RunDataset& data, const Unit& unit, size_t cycle) const;
  const RegimeClusters& regimes() const { return regimes_; }
  size_t kept_count() const { return kept_.size(); }
  const std::vector<size_t>& kept_sensors() const { return kept_; }
  std::vector<std::string> kept_names() const;
  const std::vector<std::string>& dropped_names() const { return dropped_; }
  double healthy_fraction() const { return healthy_fraction_; }
  // Cycles of a unit of this length that count as its healthy start.
  size_t healthy_cycles(size_t length) const;

  Json to_json() const;
  static Result<Preprocessor> from_json(const Json& json, std::string_view where);

 private:
  size_t settings_ = 0, sensors_ = 0;
  std::vector<std::string> sensor_names_;
  std::vector<size_t> kept_;
  std::vector<std::string> dropped_;
  RegimeClusters regimes_;
  std::vector<double> center_, scale_;  // [regimes, kept]
  double alpha_ = 0.3;
  double healthy_fraction_ = 0.25;
};

}  // namespace officina::pdm
