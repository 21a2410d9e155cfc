#include "twin/telemetry_message.h"

#include <cmath>

#include "base/json_util.h"
#include "twin/telemetry_topic.h"

namespace officina::twin {

namespace {

constexpr std::array<std::string_view, 6> kStatusNames = {"running", "idle", "blocked", "starved", "down", "maintenance"};

DecodedTelemetry rejected(TelemetryReject reason) {
  DecodedTelemetry out;
  out.reject = reason;
  return out;
}

// The timestamp of an object, or nullopt when it is unusable.
std::optional<double> timestamp(const Json& object) {
  auto it = object.find("ts");
  if (it == object.end() || !it->is_number()) return std::nullopt;
  double ts = it->get<double>();
  if (!std::isfinite(ts) || ts < 0 || ts > kMaxTimestamp) return std::nullopt;
  return ts;
}

}  // namespace

std::string_view machine_status_name(MachineStatus status) {
  size_t i = static_cast<size_t>(status);
  return i < kStatusNames.size() ? kStatusNames[i] : "unknown";
}

std::optional<MachineStatus> parse_machine_status(std::string_view name) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<MachineStatus>(i);
  }
  return std::nullopt;
}

std::string_view telemetry_reject_name(TelemetryReject reason) {
  switch (reason) {
    case TelemetryReject::kOversized: return "oversized";
    case TelemetryReject::kBadTopic: return "bad_topic";
    case TelemetryReject::kMalformedJson: return "malformed_json";
    case TelemetryReject::kMissingValue: return "missing_value";
    case TelemetryReject::kNonNumericValue: return "non_numeric_value";
    case TelemetryReject::kBadTimestamp: return "bad_timestamp";
    case TelemetryReject::kBadUnit: return "bad_unit";
    case TelemetryReject::kBadState: return "bad_state";
    case TelemetryReject::kMissingHealth: return "missing_health";
    case TelemetryReject::kBadHealth: return "bad_health";
  }
  return "unknown";
}

std::string reading_topic(const Reading& r) { return telemetry_topic(r.plant, r.line, r.machine, r.sensor); }

std::string reading_payload(const Reading& r) {
  // nlohmann writes doubles in their shortest round-trip form, so a
  // redelivered reading has exactly the ts it was stored with.
  return Json{{"ts", r.ts}, {"value", r.value}, {"unit", r.unit}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string state_topic(const StateChange& s) { return telemetry_topic(s.plant, s.line, s.machine); }

std::string state_payload(const StateChange& s) {
  return Json{{"ts", s.ts}, {"state", machine_status_name(s.state)}}.dump();
}

std::string health_topic(const HealthUpdate& h) { return telemetry_health_topic(h.plant, h.line, h.machine); }

std::string health_payload(const HealthUpdate& h) {
  return Json{{"ts", h.ts}, {"health_index", h.estimate.health_index}, {"rul", h.estimate.rul},
              {"rul_lo", h.estimate.rul_lo}, {"rul_hi", h.estimate.rul_hi}}.dump();
}

DecodedTelemetry decode_telemetry(std::string_view topic, std::string_view payload) {
  if (payload.size() > kMaxTelemetryPayload) return rejected(TelemetryReject::kOversized);
  std::optional<TelemetryTopic> where = parse_telemetry_topic(topic);
  if (!where) return rejected(TelemetryReject::kBadTopic);
  // No exceptions: invalid JSON (binary garbage, bad UTF-8) comes back discarded.
  Json object = Json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return rejected(TelemetryReject::kMalformedJson);

  if (where->is_health()) {
    double fields[4];
    const char* names[4] = {"health_index", "rul", "rul_lo", "rul_hi"};
    for (int i = 0; i < 4; ++i) {
      auto it = object.find(names[i]);
      if (it == object.end() || it->is_null()) return rejected(TelemetryReject::kMissingHealth);
      if (!it->is_number()) return rejected(TelemetryReject::kBadHealth);
      fields[i] = it->get<double>();
      if (!std::isfinite(fields[i]) || fields[i] < 0) return rejected(TelemetryReject::kBadHealth);
    }
    // An inverted interval means a broken producer (swapped fields); a point
    // outside its interval is tolerated (some models do not centre it).
    if (fields[2] > fields[3]) return rejected(TelemetryReject::kBadHealth);
    std::optional<double> ts = timestamp(object);
    if (!ts) return rejected(TelemetryReject::kBadTimestamp);
    DecodedTelemetry out;
    out.health = HealthUpdate{std::move(where->plant), std::move(where->line), std::move(where->machine), *ts,
                              RulEstimate{fields[0], fields[1], fields[2], fields[3]}};
    return out;
  }

  if (where->is_state()) {
    std::optional<double> ts = timestamp(object);
    if (!ts) return rejected(TelemetryReject::kBadTimestamp);
    auto it = object.find("state");
    if (it == object.end() || !it->is_string()) return rejected(TelemetryReject::kBadState);
    std::optional<MachineStatus> state = parse_machine_status(it->get_ref<const std::string&>());
    if (!state) return rejected(TelemetryReject::kBadState);
    DecodedTelemetry out;
    out.state = StateChange{std::move(where->plant), std::move(where->line), std::move(where->machine), *ts, *state};
    return out;
  }

  auto value = object.find("value");
  if (value == object.end()) return rejected(TelemetryReject::kMissingValue);
  if (!value->is_number() || !std::isfinite(value->get<double>())) return rejected(TelemetryReject::kNonNumericValue);
  std::optional<double> ts = timestamp(object);
  if (!ts) return rejected(TelemetryReject::kBadTimestamp);
  std::string unit;
  if (auto it = object.find("unit"); it != object.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxUnitLength) {
      return rejected(TelemetryReject::kBadUnit);
    }
    unit = it->get<std::string>();
  }
  DecodedTelemetry out;
  out.reading = Reading{std::move(where->plant), std::move(where->line),  std::move(where->machine),
                        std::move(where->sensor), *ts, value->get<double>(), std::move(unit)};
  return out;
}

}  // namespace officina::twin
