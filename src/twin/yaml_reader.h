// Path-aware reading of YAML documents for the twin (plants and scenarios).
// Every value is read with its key path ("lines[1].machines[2].cycle_time"),
// and every problem is collected as "FILE:LINE: PATH: MESSAGE" so a user sees
// all mistakes of a file at once. Unknown keys are errors. yaml-cpp's
// exceptions stop here. A node budget stops alias bombs and huge documents.
// Not thread-safe; one reader per document.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/error.h"
#include "twin/plant.h"

namespace officina::twin {

// "a.b" / "a[3]" path building.
std::string child_path(std::string_view path, std::string_view key);
std::string index_path(std::string_view path, size_t index);

class YamlReader {
 public:
  static constexpr size_t kMaxErrors = 40;
  static constexpr size_t kMaxInputBytes = 16u << 20;

  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  // Parses text into a document; fails with "FILE:LINE:COL: MESSAGE".
  Result<YAML::Node> load(std::string_view text);

  // Records a problem at node (its line, if it has one) and path.
  void error(const YAML::Node& at, std::string_view path, std::string_view message);
  bool ok() const { return errors_.empty(); }
  // All problems, one a line; "FILE: N more problems" past kMaxErrors.
  Error errors() const;

  // True when node is a map whose keys are all in allowed (errors otherwise).
  bool expect_map(const YAML::Node& node, std::string_view path, std::initializer_list<std::string_view> allowed);
  // True when node is a sequence of at most max_items entries.
  bool expect_list(const YAML::Node& node, std::string_view path, size_t max_items);

  // Optional fields of a map: nullopt when absent, or when malformed (with an error).
  std::optional<double> number(const YAML::Node& map, std::string_view key, std::string_view path);
  std::optional<int64_t> integer(const YAML::Node& map, std::string_view key, std::string_view path);
  std::optional<std::string> string(const YAML::Node& map, std::string_view key, std::string_view path);
  std::optional<bool> boolean(const YAML::Node& map, std::string_view key, std::string_view path);
  // A plain number is seconds; strings take a unit: 30s, 5m, 2h, 1d.
  std::optional<double> duration(const YAML::Node& map, std::string_view key, std::string_view path);
  // One list entry that must be a duration.
  std::optional<double> duration_item(const YAML::Node& node, std::string_view path) { return scalar_duration(node, path); }
  // A duration (fixed) or {dist: KIND, ...} (see docs/twin.md).
  std::optional<Distribution> distribution(const YAML::Node& map, std::string_view key, std::string_view path);
  // Records where a path was read from in `source` (for later validation messages).
  void note(const YAML::Node& at, std::string_view path);

  std::map<std::string, std::string>& source() { return source_; }

 private:
  std::optional<double> scalar_number(const YAML::Node& node, std::string_view path);
  std::optional<double> scalar_duration(const YAML::Node& node, std::string_view path);
  bool spend(const YAML::Node& node, std::string_view path);

  std::string file_;
  std::vector<std::string> errors_;
  size_t dropped_ = 0;
  size_t budget_ = 200000;  // nodes visited; aliases count each time
  std::map<std::string, std::string> source_;
};

}  // namespace officina::twin
