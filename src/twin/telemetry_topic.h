// The MQTT topic scheme of live telemetry (docs/twin.md, "Live mode"):
//   officina/<plant>/<line>/<machine>/<sensor>   a sensor reading
//   officina/<plant>/<line>/<machine>/state      a machine's status
//   officina/<plant>/<line>/<machine>/health     a health estimate (predictive policy)
// Names become topic levels through sanitize_topic_level, so a level never
// holds '/', '+', '#', spaces or control characters, and a sensor called
// "state" or "health" cannot be mistaken for the status or health topic.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace officina::twin {

inline constexpr std::string_view kTopicRoot = "officina";
inline constexpr std::string_view kStateLevel = "state";
inline constexpr std::string_view kHealthLevel = "health";
inline constexpr size_t kMaxTopicLevel = 128;  // bytes per level

// Keeps ASCII letters, digits, '_', '-' and '.'; every other character (a
// UTF-8 sequence counts as one) becomes '_'. Empty -> "_", "state" -> "state_"
// and "health" -> "health_" (reserved for the status and health topics), and
// the result is cut to kMaxTopicLevel
// bytes. Idempotent: sanitizing a sanitized level changes nothing.
std::string sanitize_topic_level(std::string_view name);

// Levels are sanitized here; sensor empty means the status topic.
std::string telemetry_topic(std::string_view plant, std::string_view line, std::string_view machine,
                            std::string_view sensor = {});

// officina/<plant>/<line>/<machine>/health (levels sanitized).
std::string telemetry_health_topic(std::string_view plant, std::string_view line, std::string_view machine);

// The filter that matches every topic of one plant ("officina/#" for all).
std::string telemetry_filter(std::string_view plant = {});

// A topic taken apart. sensor is empty for the status and health topics.
struct TelemetryTopic {
  std::string plant, line, machine, sensor;
  bool health = false;  // the health topic
  bool is_state() const { return sensor.empty() && !health; }
  bool is_health() const { return health; }
};

// nullopt unless the topic has exactly five non-empty levels under "officina",
// each at most kMaxTopicLevel bytes without control characters or wildcards.
// Accepts levels other publishers did not sanitize (spaces, UTF-8).
std::optional<TelemetryTopic> parse_telemetry_topic(std::string_view topic);

}  // namespace officina::twin
