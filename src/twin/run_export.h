// Run-to-failure export for predictive-maintenance work: for every machine
// with sensors, the sensor history of each run from a renewal up to a
// failure, in two files per machine:
//   LINE__MACHINE.txt  the C-MAPSS text layout: one row per sensor tick,
//                      "unit cycle setting1 setting2 setting3 sensor1 ... sensorN",
//                      space separated, no header (unit = run number from 1,
//                      cycle = tick number within the run from 1);
//   LINE__MACHINE.csv  the same columns with a header naming the sensors.
// Settings: 1 = product index of the last part started, 2 = load (share of
// the machine's servers busy), 3 = hours since the last renewal.
// index.json lists the files, sensors (with units) and run counts.
// Runs ended by maintenance before a failure are censored and not written.
// Files are written atomically. Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "twin/plant.h"
#include "twin/simulator.h"

namespace officina::twin {

struct ExportSummary {
  std::vector<std::string> files;  // paths written
  size_t runs = 0;                 // runs to failure written, all machines
  uint64_t censored = 0;
};

// Fails with "DIR: <reason>" when the directory cannot be made or written.
Result<ExportSummary> export_runs(const Plant& plant, const std::vector<SimulationResult>& results, const std::string& dir);

}  // namespace officina::twin
