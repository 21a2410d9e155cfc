// Live telemetry messages: a sensor reading, a machine status change or a
// health estimate, their JSON payloads, and the validation the ingester
// applies to whatever arrives.
//   reading: {"ts": 1718000000.25, "value": 4.61, "unit": "mm/s"}
//   status:  {"ts": 1718000000.25, "state": "running"}
//   health:  {"ts": 1718000000.25, "health_index": 1.4, "rul": 103000, "rul_lo": 74000, "rul_hi": 120000}
//            (RUL in seconds; all four finite and >= 0, rul_lo <= rul_hi; a
//            point outside [rul_lo, rul_hi] is stored as sent)
// ts is unix seconds (float). decode_telemetry never throws and never
// crashes on hostile input (binary garbage, huge payloads, wrong types): it
// returns the reason the message was rejected, one of a fixed set so that
// counters stay bounded. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "twin/simulator.h"

namespace officina::twin {

inline constexpr size_t kMaxTelemetryPayload = 64 * 1024;  // bytes
inline constexpr size_t kMaxUnitLength = 32;               // bytes
inline constexpr double kMaxTimestamp = 1e11;              // unix seconds (year 5138)

struct Reading {
  std::string plant, line, machine, sensor;
  double ts = 0;  // unix seconds
  double value = 0;
  std::string unit;
};

struct StateChange {
  std::string plant, line, machine;
  double ts = 0;
  MachineStatus state = MachineStatus::kIdle;
};

// A machine's health under the predictive policy (RUL in seconds).
struct HealthUpdate {
  std::string plant, line, machine;
  double ts = 0;
  RulEstimate estimate;
};

// "running", "idle", "blocked", "starved", "down", "maintenance".
std::string_view machine_status_name(MachineStatus status);
std::optional<MachineStatus> parse_machine_status(std::string_view name);

// Where live telemetry goes (the MQTT publisher, a test's recorder). Called
// on the simulating thread; false means the message was refused (dropped).
class TelemetrySink {
 public:
  virtual ~TelemetrySink() = default;
  virtual bool on_reading(const Reading& r) = 0;
  virtual bool on_state(const StateChange& s) = 0;
  // Sinks that do not carry health updates accept and drop them.
  virtual bool on_health(const HealthUpdate& h) {
    (void)h;
    return true;
  }
};

// Topic and payload for the publisher (names are sanitized into the topic).
std::string reading_topic(const Reading& r);
std::string reading_payload(const Reading& r);
std::string state_topic(const StateChange& s);
std::string state_payload(const StateChange& s);
// officina/<plant>/<line>/<machine>/health with
// {"ts", "health_index", "rul", "rul_lo", "rul_hi"} (RUL in seconds).
std::string health_topic(const HealthUpdate& h);
std::string health_payload(const HealthUpdate& h);

// Why a message was not stored. Names (telemetry_reject_name) are the keys of
// the ingest counters.
enum class TelemetryReject : uint8_t {
  kOversized,        // payload > kMaxTelemetryPayload
  kBadTopic,         // not officina/<plant>/<line>/<machine>/<sensor|state|health>
  kMalformedJson,    // not JSON, not UTF-8, or not an object
  kMissingValue,     // reading without "value"
  kNonNumericValue,  // "value" not a finite number
  kBadTimestamp,     // "ts" missing, not a number, negative or > kMaxTimestamp
  kBadUnit,          // "unit" present but not a string of at most kMaxUnitLength bytes
  kBadState,         // status without a known "state"
  kMissingHealth,    // health without one of "health_index", "rul", "rul_lo", "rul_hi"
  kBadHealth,        // one of them not a finite number >= 0, or rul_lo > rul_hi
};
inline constexpr size_t kTelemetryRejectCount = 10;
std::string_view telemetry_reject_name(TelemetryReject reason);
inline constexpr std::array<TelemetryReject, kTelemetryRejectCount> kTelemetryRejects = {
    TelemetryReject::kOversized,       TelemetryReject::kBadTopic,     TelemetryReject::kMalformedJson,
    TelemetryReject::kMissingValue,    TelemetryReject::kNonNumericValue, TelemetryReject::kBadTimestamp,
    TelemetryReject::kBadUnit,         TelemetryReject::kBadState,        TelemetryReject::kMissingHealth,
    TelemetryReject::kBadHealth};

// Exactly one of reading, state, health, reject is set.
struct DecodedTelemetry {
  std::optional<Reading> reading;
  std::optional<StateChange> state;
  std::optional<HealthUpdate> health;
  std::optional<TelemetryReject> reject;
};

// Validates topic then payload (oversized first, before any parsing).
DecodedTelemetry decode_telemetry(std::string_view topic, std::string_view payload);

}  // namespace officina::twin
