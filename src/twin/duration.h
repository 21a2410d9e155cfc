// Durations as people write them: "30d", "12h", "90m", "45s", "1.5h" or a
// plain number of seconds ("3600"). Used for plant YAML values and the CLI's
// --horizon. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace officina::twin {

// Seconds; fails with "'TEXT': not a duration (use e.g. 30d, 12h, 90m, 45s or seconds)"
// on anything else, including negative, NaN or infinite values.
Result<double> parse_duration(std::string_view text);

// Compact form for tables and logs: "30d", "12h", "1.5h", "90s".
std::string format_duration(double seconds);

}  // namespace officina::twin
