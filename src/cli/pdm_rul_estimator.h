// The bridge from pdm's RUL models to the twin's predictive maintenance
// policy: an RulEstimator (twin/rul_estimator.h) that answers each check
// with a pdm RulModel loaded from the machine's maintenance.model directory.
// It lives in cli because cli is the one layer that may join twin and pdm.
//
// Each model directory is loaded once (machines naming the same directory
// share it), and the machine's readings since its last renewal become one
// C-MAPSS unit: cycle = row number from 1, settings = product, load and
// hours since renewal, sensors in the machine's order — the layout
// `twin export-runs` writes and `pdm make-dataset` reads, so a model trained
// on the export reads the live rows unchanged. Only the newest kMaxCycles
// rows are passed: the model's window features and EWMA smoothing look at
// the recent past, and the cap keeps a check's cost bounded on long runs.
// The model's RUL is in cycles (sensor ticks); it is converted to seconds
// with the machine's tick, the shortest of its sensor periods.
//
// Errors: load() names the machine's YAML path and what is wrong (missing
// directory, unreadable model, sensor columns that do not match).
// Thread-safety: estimate() and check() are const and the models are only
// read, so replications may call them concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pdm/rul_model.h"
#include "twin/plant.h"
#include "twin/rul_estimator.h"

namespace officina::cli {

class PdmRulEstimator final : public twin::RulEstimator {
 public:
  static constexpr size_t kMaxCycles = 2000;

  // Loads the model of every machine with a predictive policy (none: an
  // estimator that serves nobody, which is fine).
  static Result<std::unique_ptr<PdmRulEstimator>> load(const twin::Plant& plant);

  Result<void> check(const twin::Plant& plant) const override;
  Result<twin::RulEstimate> estimate(int line, int machine, std::span<const double> rows,
                                     size_t columns) const override;

 private:
  struct Served {
    const pdm::RulModel* model = nullptr;
    double tick_seconds = 60;
    size_t sensors = 0;
    std::vector<std::string> sensor_names;
  };
  std::map<std::string, std::unique_ptr<pdm::RulModel>> models_;  // by directory
  std::map<std::pair<int, int>, Served> served_;                 // by (line, machine)
};

}  // namespace officina::cli
