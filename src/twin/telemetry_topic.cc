#include "twin/telemetry_topic.h"

#include <cstdint>

namespace officina::twin {

namespace {

bool allowed(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
    if (n == 0 || c > 0xf4 || i + n >= text.size()) return false;
    uint32_t cp = c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

bool valid_level(std::string_view level) {
  if (level.empty() || level.size() > kMaxTopicLevel) return false;
  for (unsigned char c : level) {
    if (c < 0x20 || c == 0x7f || c == '+' || c == '#') return false;
  }
  return valid_utf8(level);
}

}  // namespace

std::string sanitize_topic_level(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size() && out.size() < kMaxTopicLevel; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (allowed(c)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('_');
    // One '_' per UTF-8 character: skip its continuation bytes.
    while (c >= 0xc0 && i + 1 < name.size() && (static_cast<unsigned char>(name[i + 1]) & 0xc0) == 0x80) ++i;
  }
  if (out.empty()) out = "_";
  if (out == kStateLevel) out = "state_";
  if (out == kHealthLevel) out = "health_";
  return out;
}

std::string telemetry_topic(std::string_view plant, std::string_view line, std::string_view machine,
                            std::string_view sensor) {
  std::string topic(kTopicRoot);
  for (std::string_view level : {plant, line, machine}) {
    topic += '/';
    topic += sanitize_topic_level(level);
  }
  topic += '/';
  topic += sensor.empty() ? std::string(kStateLevel) : sanitize_topic_level(sensor);
  return topic;
}

std::string telemetry_health_topic(std::string_view plant, std::string_view line, std::string_view machine) {
  std::string topic(kTopicRoot);
  for (std::string_view level : {plant, line, machine}) {
    topic += '/';
    topic += sanitize_topic_level(level);
  }
  topic += '/';
  topic += kHealthLevel;
  return topic;
}

std::string telemetry_filter(std::string_view plant) {
  std::string filter(kTopicRoot);
  if (!plant.empty()) {
    filter += '/';
    filter += sanitize_topic_level(plant);
  }
  return filter + "/#";
}

std::optional<TelemetryTopic> parse_telemetry_topic(std::string_view topic) {
  std::string_view levels[5];
  size_t count = 0, start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    std::string_view level = topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (count == 5 || !valid_level(level)) return std::nullopt;
    levels[count++] = level;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (count != 5 || levels[0] != kTopicRoot) return std::nullopt;
  TelemetryTopic out{std::string(levels[1]), std::string(levels[2]), std::string(levels[3]), std::string(levels[4])};
  if (out.sensor == kStateLevel) out.sensor.clear();
  if (out.sensor == kHealthLevel) {
    out.sensor.clear();
    out.health = true;
  }
  return out;
}

}  // namespace officina::twin
