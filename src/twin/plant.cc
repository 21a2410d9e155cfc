#include "twin/plant.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace officina::twin {

namespace {
constexpr double kDay = 86400.0;
constexpr double kWeek = 7 * kDay;
}  // namespace

double Distribution::mean() const {
  switch (kind) {
    case DistributionKind::kFixed:
    case DistributionKind::kExponential:
    case DistributionKind::kNormal:
    case DistributionKind::kLognormal:
      return a;
    case DistributionKind::kTriangular:
      return (a + b + c) / 3;
    case DistributionKind::kWeibull:
      return b * std::tgamma(1 + 1 / a);
  }
  return a;
}

void Distribution::scale(double factor) {
  switch (kind) {
    case DistributionKind::kFixed:
    case DistributionKind::kExponential:
      a *= factor;
      break;
    case DistributionKind::kNormal:
    case DistributionKind::kLognormal:
      a *= factor;
      b *= factor;
      break;
    case DistributionKind::kTriangular:
      a *= factor;
      b *= factor;
      c *= factor;
      break;
    case DistributionKind::kWeibull:
      b *= factor;  // shape is dimensionless
      break;
  }
}

std::string_view distribution_name(DistributionKind kind) {
  switch (kind) {
    case DistributionKind::kFixed: return "fixed";
    case DistributionKind::kExponential: return "exponential";
    case DistributionKind::kNormal: return "normal";
    case DistributionKind::kLognormal: return "lognormal";
    case DistributionKind::kTriangular: return "triangular";
    case DistributionKind::kWeibull: return "weibull";
  }
  return "?";
}

std::string_view maintenance_policy_name(MaintenancePolicy policy) {
  switch (policy) {
    case MaintenancePolicy::kCorrective: return "corrective";
    case MaintenancePolicy::kPreventive: return "preventive";
    case MaintenancePolicy::kCondition: return "condition";
    case MaintenancePolicy::kScheduled: return "scheduled";
    case MaintenancePolicy::kPredictive: return "predictive";
  }
  return "?";
}

// Shift boundaries are whole seconds, so the modular arithmetic below is exact
// in double precision for any horizon validation accepts.
namespace {
struct CalendarPoint {
  double day_start;  // start of the day containing t
  int weekday;       // 0..6
  double into_day;   // t - day_start
};

CalendarPoint locate(double t) {
  double weeks = std::floor(t / kWeek);
  double rem = t - weeks * kWeek;
  int day = std::clamp(static_cast<int>(std::floor(rem / kDay)), 0, 6);
  double into = rem - day * kDay;
  return {weeks * kWeek + day * kDay, day, into};
}

double daily_seconds(const Calendar& c) { return std::round(c.planned_hours_per_day() * 3600.0); }
}  // namespace

double Calendar::planned_before(double t) const {
  if (t <= 0) return 0;
  double daily = daily_seconds(*this);
  double weeks = std::floor(t / kWeek);
  CalendarPoint p = locate(t);
  double planned = weeks * days_per_week * daily + std::min(p.weekday, days_per_week) * daily;
  if (p.weekday < days_per_week) planned += std::min(p.into_day, daily);
  return planned;
}

bool Calendar::in_shift(double t) const {
  CalendarPoint p = locate(t);
  return p.weekday < days_per_week && p.into_day < daily_seconds(*this);
}

double Calendar::next_change(double t) const {
  double daily = daily_seconds(*this);
  if (daily >= kDay && days_per_week >= 7) return std::numeric_limits<double>::infinity();
  CalendarPoint p = locate(t);
  if (in_shift(t)) {
    double end = p.day_start + daily;
    // Round-the-clock days run into each other until a day off.
    for (int k = 1; daily >= kDay && k < 7 && (p.weekday + k) % 7 < days_per_week; ++k) end += kDay;
    return end;
  }
  for (int k = 1; k <= 7; ++k) {
    if ((p.weekday + k) % 7 < days_per_week) return p.day_start + k * kDay;
  }
  return std::numeric_limits<double>::infinity();  // no working days: rejected by validation
}

}  // namespace officina::twin
