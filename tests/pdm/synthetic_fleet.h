// A synthetic run-to-failure fleet for the pdm tests, shaped like the public
// turbofan sets: some informative sensors that drift (with noise) as a unit
// wears out, some constant or quantised-constant ones, three operating
// settings that are either near-constant or in six tight regimes that shift
// every sensor, and very different unit lengths.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/random.h"
#include "pdm/run_dataset.h"

namespace officina::pdm::test {

struct FleetOptions {
  int units = 60;
  int min_life = 120;
  int max_life = 320;
  int informative = 6;
  int constant = 3;  // one exactly constant, the others quantised to one value 98% of the time
  int regimes = 1;   // 1 or 6
  double noise = 0.4;
  uint64_t seed = 1;
};

// Wear in [0, 1]: flat until 40% of life, then rising to 1 at failure.
inline double fleet_wear(double t, double life) {
  double x = (t - 0.4 * life) / (0.6 * life);
  return x <= 0 ? 0 : std::pow(x, 1.5);
}

inline RunDataset make_fleet(const FleetOptions& o) {
  RunDataset d;
  d.source = "synthetic";
  d.setting_names = {"setting1", "setting2", "setting3"};
  for (int s = 0; s < o.informative + o.constant; ++s) d.sensor_names.push_back(fmt::format("s{}", s + 1));
  Rng rng(o.seed);
  const double regime_settings[6][3] = {{0, 0, 100}, {10, 0.25, 20}, {20, 0.7, 0}, {25, 0.62, 60}, {35, 0.84, 100}, {42, 0.84, 40}};
  for (int u = 0; u < o.units; ++u) {
    Unit unit;
    unit.id = u + 1;
    const int life = o.min_life + static_cast<int>(rng.uniform() * (o.max_life - o.min_life + 1));
    const double unit_offset = 0.3 * rng.normal();  // manufacturing variation
    for (int t = 1; t <= life; ++t) {
      unit.cycles.push_back(t);
      const int r = o.regimes == 1 ? 0 : static_cast<int>(rng.uniform() * 6);
      for (int j = 0; j < 3; ++j) {
        double v = o.regimes == 1 ? (j == 2 ? 100.0 : 0.002 * rng.normal()) : regime_settings[r][j] + 1e-3 * rng.normal();
        unit.settings.push_back(v);
      }
      const double w = fleet_wear(t, life);
      for (int s = 0; s < o.informative; ++s) {
        const double base = 100.0 * (s + 1) + 15.0 * r * (s % 3 + 1);
        const double gain = (s % 2 == 0 ? 1.0 : -1.0) * (3.0 + s);
        unit.sensors.push_back(base + unit_offset + gain * w + o.noise * rng.normal());
      }
      for (int s = 0; s < o.constant; ++s) {
        double v = s == 0 ? 518.67 : (rng.uniform() < 0.98 ? 21.61 : 21.60);
        unit.sensors.push_back(v);
      }
    }
    d.units.push_back(std::move(unit));
  }
  return d;
}

// Cuts each unit at a random cycle in [min(31, length - 1), length - 1];
// returns the true RUL per unit.
inline std::vector<double> truncate_fleet(RunDataset& d, uint64_t seed, size_t min_cycles = 31) {
  Rng rng(seed);
  std::vector<double> rul;
  for (Unit& u : d.units) {
    const size_t len = u.length(), lo = std::min(min_cycles, len - 1);
    const size_t keep = lo + static_cast<size_t>(rng.uniform() * static_cast<double>(len - 1 - lo + 1));
    rul.push_back(static_cast<double>(u.cycles.back() - u.cycles[keep - 1]));
    u = truncate_unit(u, keep, d.setting_count(), d.sensor_count());
  }
  return rul;
}

}  // namespace officina::pdm::test
