// What-if scenarios: a small YAML file of overrides applied to a copy of the
// base plant (schema in docs/twin.md): demand_scale, calendar (e.g. a third
// shift), crews, mtbf_factor (plant-wide or per machine; divides degradation
// rates too), buffer capacities (all or per buffer) and per-machine
// maintenance policies. The result is validated like any plant. Compare it
// with the baseline by running both with the same seed (common random numbers).
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "twin/plant.h"

namespace officina::twin {

struct Scenario {
  std::string name;
  std::string description;
  Plant plant;  // the base plant with the overrides applied, validated
};

// Errors name the file, line and key path, e.g.
// "third-shift.yaml:4: machines[0].name: no machine named 'drill' in the plant".
// A relative `model` directory in a machine's maintenance override (the
// predictive policy) is resolved against model_folder, as load_plant resolves
// the plant's own against the plant file's folder; empty leaves it as written.
Result<Scenario> apply_scenario(const Plant& base, std::string_view yaml_text, std::string_view source_name = "scenario",
                                const std::string& model_folder = {});
// Resolves relative `model` directories against the scenario file's folder.
Result<Scenario> load_scenario(const Plant& base, const std::string& path);

}  // namespace officina::twin
