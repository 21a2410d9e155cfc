// Reads a plant description (YAML, schema in docs/twin.md) into a Plant and
// validates it. Problems come back together, one a line, each naming the
// file, line and key path: "plant.yaml:14: lines[1].machines[2].cycle_time:
// must be > 0". Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "base/error.h"
#include "twin/plant.h"
#include "twin/yaml_reader.h"

namespace officina::twin {

// Parses and validates; source_name is used in messages (usually the path).
Result<Plant> parse_plant(std::string_view yaml_text, std::string_view source_name = "plant");
// Reads the file (at most 16 MiB) and parses it.
Result<Plant> load_plant(const std::string& path);

// Reads a `maintenance:` mapping for machine (sensor and degradation names
// resolve against it). Shared with scenario overrides. False after errors.
bool read_maintenance(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      const Machine& machine, Maintenance& out);

}  // namespace officina::twin
