// The plant model of the digital twin: plain structs filled by plant_parser
// (from YAML) and checked by plant_validator, then read by the simulator.
// Times are seconds (double) everywhere; rates say their unit in their name.
// A plant has lines; a line is a serial flow of machines joined by finite
// buffers; machines have failure modes, degradation states that drive
// sensors, and a maintenance policy; crews and costs are plant-wide.
// Plain data: copying is cheap enough for scenarios, no thread-safety concerns.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace officina::twin {

enum class DistributionKind { kFixed, kExponential, kNormal, kLognormal, kTriangular, kWeibull };

// A non-negative random duration (or a fixed one). Parameters by kind:
//   fixed: a = value;  exponential: a = mean;  normal, lognormal: a = mean, b = sd
//   (of the variable itself; normal is truncated at 0);  triangular: a = min,
//   b = mode, c = max;  weibull: a = shape, b = scale.
struct Distribution {
  DistributionKind kind = DistributionKind::kFixed;
  double a = 0, b = 0, c = 0;

  static Distribution fixed(double value) { return {DistributionKind::kFixed, value, 0, 0}; }
  static Distribution exponential(double mean) { return {DistributionKind::kExponential, mean, 0, 0}; }
  // The mean of the distribution (for normal, of the untruncated one).
  double mean() const;
  // Multiplies every time parameter by factor (scaling the whole distribution).
  void scale(double factor);
  bool is_zero() const { return kind == DistributionKind::kFixed && a == 0; }
};

std::string_view distribution_name(DistributionKind kind);

enum class FailureTrigger { kTime, kDegradation };

struct FailureMode {
  std::string name;
  FailureTrigger trigger = FailureTrigger::kTime;
  Distribution time_to_failure;  // kTime: planned production time while up
  int degradation = -1;          // kDegradation: index into Machine::degradations
  double threshold = 0;          // kDegradation: fails when the state reaches it
  Distribution repair_time;
  double parts_cost = 0;
};

// A wear state that grows while the machine processes parts (per hour of
// processing, with random increments) and is reset by repair or maintenance.
struct Degradation {
  std::string name;
  double rate_per_hour = 0;
  double cv = 0;  // coefficient of variation of the increments
  double initial = 0;  // the state at the start of a run (a machine that is not new)
};

// reading = base + gain * state^exponent + N(0, noise_sd).
struct Sensor {
  std::string name;
  std::string unit;
  double period = 60;
  double noise_sd = 0;
  double base = 0;
  double gain = 0;
  double exponent = 1;
  int degradation = -1;  // -1: reads base + noise only
};

// kScheduled performs preventive maintenance at given times (a maintenance
// plan, see maintenance_planner.h) and is otherwise run-to-failure.
// kPredictive asks an RUL estimator (rul_estimator.h) every check_every
// seconds and requests maintenance when the lower 90% bound of the RUL falls
// below lead_time.
enum class MaintenancePolicy { kCorrective, kPreventive, kCondition, kScheduled, kPredictive };

std::string_view maintenance_policy_name(MaintenancePolicy policy);

struct Maintenance {
  MaintenancePolicy policy = MaintenancePolicy::kCorrective;
  double interval = 0;   // preventive: seconds since the last preventive action
  int sensor = -1;       // condition: on a sensor reading...
  int degradation = -1;  // ...or on a degradation state (checked after each part)
  double threshold = 0;
  std::vector<double> at;  // scheduled: request times (seconds from the start), ascending
  std::string model;         // predictive: model directory (load_plant makes it relative to the YAML's folder)
  double lead_time = 0;      // predictive: maintain when the RUL lower bound falls below it
  double check_every = 3600; // predictive: seconds between estimates
  Distribution duration = Distribution::fixed(3600);
  double parts_cost = 0;
};

struct Machine {
  std::string name;
  std::string kind;
  Distribution cycle_time = Distribution::fixed(60);
  Distribution setup_time;  // on a product change; fixed 0 = none
  int capacity = 1;         // parts processed in parallel
  double scrap_probability = 0;
  std::vector<FailureMode> failure_modes;
  std::vector<Degradation> degradations;
  std::vector<Sensor> sensors;
  Maintenance maintenance;
};

// A finite buffer between two machines of the same line (indices into
// Line::machines). Capacity counts waiting parts only, not the ones in machines.
struct Buffer {
  int from = -1;
  int to = -1;
  int64_t capacity = 10;
};

// Raw material arrivals at the first machine. Without demand the first
// machine is never starved.
struct Demand {
  bool enabled = false;
  double rate_per_hour = 0;
  bool poisson = true;  // exponential inter-arrival times, else fixed
};

struct Line {
  std::string name;
  std::vector<Machine> machines;
  std::vector<Buffer> buffers;
  Demand demand;
  int64_t input_capacity = 0;  // the queue in front of the first machine; 0 = unlimited
  int64_t lot_size = 1;        // consecutive parts of the same product
  // Filled by validation: machine indices from entry to exit, and the
  // capacity of the buffer after order[k] (order.size() - 1 entries).
  std::vector<int> order;
  std::vector<int64_t> buffer_after;
};

struct Product {
  std::string name;
  double mix = 1;           // share of the parts, the shares sum to 1
  double cycle_factor = 1;  // multiplies every machine's cycle time
};

// Shifts run back to back from midnight: shifts_per_day * shift_hours planned
// hours a day, on the first days_per_week days of each week. Repairs go on
// outside shifts; production does not.
struct Calendar {
  int shifts_per_day = 3;
  double shift_hours = 8;
  int days_per_week = 7;

  double planned_hours_per_day() const { return shifts_per_day * shift_hours; }
  // Planned production seconds in [0, t).
  double planned_before(double t) const;
  bool in_shift(double t) const;
  // The first time > t when in_shift changes (infinity for 24/7).
  double next_change(double t) const;
};

struct Costs {
  double downtime_per_hour = 0;
  double labour_per_hour = 0;
  double scrap_per_unit = 0;
};

struct Plant {
  std::string name;
  double horizon = 30 * 86400.0;  // default simulation horizon
  int crews = 1;
  Calendar calendar;
  Costs costs;
  std::vector<Product> products;
  std::vector<Line> lines;
  // Where each key path was read from ("plant.yaml:12"), for error messages.
  std::map<std::string, std::string> source;
};

constexpr double kMaxHorizon = 10 * 366 * 86400.0;  // ten years

}  // namespace officina::twin
