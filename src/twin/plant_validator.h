// Checks a Plant for values the simulator cannot run or that are surely
// mistakes (zero or negative rates and times, shares not summing to one,
// routing cycles, unreachable machines, absurd horizons) and completes it:
// fills each line's serial order and adds the default product when none is
// given. All problems come back in one Error, one a line, each naming the key
// path ("lines[1].machines[2].cycle_time: must be > 0") and, when the plant
// came from a file, the file and line. Thread-safe (touches only its argument).
#pragma once

#include "base/error.h"
#include "twin/plant.h"

namespace officina::twin {

Result<void> validate_plant(Plant& plant);

// The horizon rule shared with the CLI: 0 < horizon <= kMaxHorizon.
Result<void> validate_horizon(double horizon, std::string_view what = "horizon");

// Machine kinds the schema accepts.
bool is_known_machine_kind(std::string_view kind);

}  // namespace officina::twin
