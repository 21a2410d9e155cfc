#include "twin/duration.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace officina::twin {

Result<double> parse_duration(std::string_view text) {
  auto bad = [&] {
    return fail("'{}': not a duration (use e.g. 30d, 12h, 90m, 45s or a number of seconds)", text);
  };
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return bad();
  double unit = 1;
  switch (s.back()) {
    case 's': unit = 1; s.remove_suffix(1); break;
    case 'm': unit = 60; s.remove_suffix(1); break;
    case 'h': unit = 3600; s.remove_suffix(1); break;
    case 'd': unit = 86400; s.remove_suffix(1); break;
    case 'w': unit = 7 * 86400; s.remove_suffix(1); break;
    default: break;
  }
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return bad();
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value) || value < 0) return bad();
  return value * unit;
}

std::string format_duration(double seconds) {
  struct Unit {
    double size;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}};
  for (const Unit& u : kUnits) {
    if (seconds >= u.size) return fmt::format("{:g}{}", std::round(seconds / u.size * 100) / 100, u.suffix);
  }
  return fmt::format("{:g}s", seconds);
}

}  // namespace officina::twin
