#include "pdm/run_reader.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "base/mapped_file.h"

namespace officina::pdm {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Calls fn(line_number, line) for every line without its end; stops at an error.
template <class Fn>
Result<void> for_each_line(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    OFFICINA_CHECK(fn(line_no, line));
  }
  return {};
}

// A finite double; the message says why not (text shown, truncated).
Result<double> parse_number(std::string_view field) {
  std::string_view shown = field.substr(0, 32);
  if (field.empty()) return fail("empty field");
  const char* begin = field.data();
  if (*begin == '+') ++begin;  // from_chars refuses a leading '+'
  double value = 0;
  auto [ptr, ec] = std::from_chars(begin, field.data() + field.size(), value);
  if (ec == std::errc::result_out_of_range) return fail("'{}' is out of range", shown);
  if (ec != std::errc() || ptr != field.data() + field.size()) return fail("'{}' is not a number", shown);
  if (!std::isfinite(value)) return fail("'{}' is not a finite number", shown);
  return value;
}

Result<int64_t> parse_integer(std::string_view field) {
  OFFICINA_TRY(double v, parse_number(field));
  // "12.0" is fine (some exporters write floats); 12.5 is not.
  if (v != std::floor(v) || std::abs(v) > 9.0e15) return fail("'{}' is not an integer", field.substr(0, 32));
  return static_cast<int64_t>(v);
}

// Groups rows into units: a unit's rows are contiguous and its cycles increase.
class UnitAssembler {
 public:
  UnitAssembler(RunDataset& data, std::string_view where) : data_(data), where_(where) {}

  Result<void> add(size_t line_no, int64_t unit, int64_t cycle, const std::vector<double>& settings,
                   const std::vector<double>& sensors) {
    if (data_.units.empty() || data_.units.back().id != unit) {
      if (!seen_.insert(unit).second) {
        return fail("{}:{}: unit {} appears again after unit {}; the rows of a unit must be contiguous", where_,
                    line_no, unit, data_.units.back().id);
      }
      data_.units.push_back(Unit{.id = unit, .cycles = {}, .settings = {}, .sensors = {}});
    }
    Unit& u = data_.units.back();
    if (!u.cycles.empty() && cycle <= u.cycles.back()) {
      return fail("{}:{}: unit {}: cycle {} after cycle {}; cycles must increase", where_, line_no, unit, cycle,
                  u.cycles.back());
    }
    u.cycles.push_back(cycle);
    u.settings.insert(u.settings.end(), settings.begin(), settings.end());
    u.sensors.insert(u.sensors.end(), sensors.begin(), sensors.end());
    return {};
  }

 private:
  RunDataset& data_;
  std::string_view where_;
  std::unordered_set<int64_t> seen_;
};

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> split_char(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(sep, start);
    out.push_back(trim(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

Result<DataFormat> parse_data_format(std::string_view text) {
  if (text == "cmapss") return DataFormat::kCmapss;
  if (text == "csv") return DataFormat::kCsv;
  return fail("unknown data format '{}': use cmapss or csv", text);
}

Result<ColumnMapping> parse_column_mapping(std::string_view text) {
  ColumnMapping m;
  for (std::string_view item : split_char(text, ',')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return fail("--columns: '{}' is not KEY=VALUE", item);
    std::string_view key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
    std::vector<std::string> names;
    for (std::string_view n : split_char(value, ';')) {
      if (!n.empty()) names.emplace_back(n);
    }
    if (key == "unit" || key == "cycle") {
      if (names.size() != 1) return fail("--columns: '{}' needs exactly one column name", key);
      (key == "unit" ? m.unit : m.cycle) = names[0];
    } else if (key == "settings") {
      m.settings = std::move(names);
      m.settings_given = true;
    } else if (key == "sensors") {
      if (names.empty()) return fail("--columns: 'sensors' needs at least one column name");
      m.sensors = std::move(names);
    } else {
      return fail("--columns: unknown key '{}' (use unit, cycle, settings, sensors)", key);
    }
  }
  return m;
}

Result<RunDataset> parse_cmapss(std::string_view text, std::string_view where) {
  RunDataset data;
  data.source = std::string(where);
  UnitAssembler units(data, where);
  size_t width = 0, width_line = 0;
  std::vector<double> settings(3), sensors;
  OFFICINA_CHECK(for_each_line(text, [&](size_t line_no, std::string_view line) -> Result<void> {
    std::vector<std::string_view> fields = split_whitespace(trim(line));
    if (fields.empty()) return {};
    if (width == 0) {
      if (fields.size() < 6) {
        return fail("{}:{}: {} columns; the C-MAPSS layout needs unit, cycle, 3 settings and at least one sensor",
                    where, line_no, fields.size());
      }
      width = fields.size();
      width_line = line_no;
      sensors.resize(width - 5);
      for (size_t s = 1; s <= 3; ++s) data.setting_names.push_back(fmt::format("setting{}", s));
      for (size_t s = 1; s <= width - 5; ++s) data.sensor_names.push_back(fmt::format("s{}", s));
    } else if (fields.size() != width) {
      return fail("{}:{}: {} columns, expected {} as on line {} (a ragged row)", where, line_no, fields.size(), width,
                  width_line);
    }
    auto unit = parse_integer(fields[0]);
    if (!unit) return fail("{}:{}: column 1 (unit): {}", where, line_no, unit.error().message);
    auto cycle = parse_integer(fields[1]);
    if (!cycle) return fail("{}:{}: column 2 (cycle): {}", where, line_no, cycle.error().message);
    for (size_t c = 2; c < width; ++c) {
      auto v = parse_number(fields[c]);
      if (!v) return fail("{}:{}: column {}: {}", where, line_no, c + 1, v.error().message);
      (c < 5 ? settings[c - 2] : sensors[c - 5]) = *v;
    }
    return units.add(line_no, *unit, *cycle, settings, sensors);
  }));
  if (data.units.empty()) return fail("{}: no data rows (an empty file?)", where);
  return data;
}

Result<RunDataset> parse_csv_runs(std::string_view text, std::string_view where, const ColumnMapping& mapping) {
  RunDataset data;
  data.source = std::string(where);
  UnitAssembler units(data, where);
  std::vector<std::string> header;
  size_t unit_col = 0, cycle_col = 0;
  std::vector<size_t> setting_cols, sensor_cols;
  std::vector<double> settings, sensors;

  auto resolve = [&](size_t line_no) -> Result<void> {
    auto find = [&](const std::string& name) -> Result<size_t> {
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == name) return i;
      }
      return fail("{}:{}: no column '{}' in the header", where, line_no, name);
    };
    OFFICINA_TRY(unit_col, find(mapping.unit.empty() ? "unit" : mapping.unit));
    OFFICINA_TRY(cycle_col, find(mapping.cycle.empty() ? "cycle" : mapping.cycle));
    std::vector<bool> used(header.size(), false);
    used[unit_col] = used[cycle_col] = true;
    if (mapping.settings_given) {
      for (const std::string& n : mapping.settings) {
        OFFICINA_TRY(size_t c, find(n));
        setting_cols.push_back(c);
        used[c] = true;
      }
    } else {
      for (size_t i = 0; i < header.size(); ++i) {
        if (!used[i] && (header[i].starts_with("setting") || header[i].starts_with("op_setting"))) {
          setting_cols.push_back(i);
          used[i] = true;
        }
      }
    }
    if (!mapping.sensors.empty()) {
      for (const std::string& n : mapping.sensors) {
        OFFICINA_TRY(size_t c, find(n));
        sensor_cols.push_back(c);
      }
    } else {
      for (size_t i = 0; i < header.size(); ++i) {
        if (!used[i]) sensor_cols.push_back(i);
      }
    }
    if (sensor_cols.empty()) return fail("{}:{}: no sensor columns", where, line_no);
    for (size_t c : setting_cols) data.setting_names.push_back(header[c]);
    for (size_t c : sensor_cols) data.sensor_names.push_back(header[c]);
    settings.resize(setting_cols.size());
    sensors.resize(sensor_cols.size());
    return {};
  };

  OFFICINA_CHECK(for_each_line(text, [&](size_t line_no, std::string_view line) -> Result<void> {
    if (trim(line).empty()) return {};
    std::vector<std::string_view> fields = split_char(line, ',');
    if (header.empty()) {
      std::unordered_set<std::string> names;
      for (std::string_view f : fields) {
        if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
        if (f.empty()) return fail("{}:{}: an empty column name in the header", where, line_no);
        if (!names.insert(std::string(f)).second) return fail("{}:{}: column '{}' appears twice", where, line_no, f);
        header.emplace_back(f);
      }
      return resolve(line_no);
    }
    if (fields.size() != header.size()) {
      return fail("{}:{}: {} columns, the header has {} (a ragged row)", where, line_no, fields.size(), header.size());
    }
    auto unit = parse_integer(fields[unit_col]);
    if (!unit) return fail("{}:{}: column '{}': {}", where, line_no, header[unit_col], unit.error().message);
    auto cycle = parse_integer(fields[cycle_col]);
    if (!cycle) return fail("{}:{}: column '{}': {}", where, line_no, header[cycle_col], cycle.error().message);
    auto get = [&](const std::vector<size_t>& cols, std::vector<double>& out) -> Result<void> {
      for (size_t i = 0; i < cols.size(); ++i) {
        auto v = parse_number(fields[cols[i]]);
        if (!v) return fail("{}:{}: column '{}': {}", where, line_no, header[cols[i]], v.error().message);
        out[i] = *v;
      }
      return {};
    };
    OFFICINA_CHECK(get(setting_cols, settings));
    OFFICINA_CHECK(get(sensor_cols, sensors));
    return units.add(line_no, *unit, *cycle, settings, sensors);
  }));
  if (header.empty()) return fail("{}: empty file (a CSV needs a header row)", where);
  if (data.units.empty()) return fail("{}: a header but no data rows", where);
  return data;
}

Result<RunDataset> read_runs(const std::string& path, DataFormat format, const ColumnMapping& mapping) {
  OFFICINA_TRY(std::string text, read_text_file(path, 2ull << 30));
  if (format == DataFormat::kCsv) return parse_csv_runs(text, path, mapping);
  return parse_cmapss(text, path);
}

Result<std::vector<double>> parse_rul(std::string_view text, std::string_view where) {
  std::vector<double> out;
  OFFICINA_CHECK(for_each_line(text, [&](size_t line_no, std::string_view line) -> Result<void> {
    line = trim(line);
    if (line.empty()) return {};
    auto v = parse_number(line);
    if (!v) return fail("{}:{}: {} (one RUL number per line)", where, line_no, v.error().message);
    if (*v < 0) return fail("{}:{}: RUL {} is negative", where, line_no, *v);
    out.push_back(*v);
    return {};
  }));
  if (out.empty()) return fail("{}: no RUL values", where);
  return out;
}

Result<std::vector<double>> read_rul_file(const std::string& path) {
  OFFICINA_TRY(std::string text, read_text_file(path, 64u << 20));
  return parse_rul(text, path);
}

}  // namespace officina::pdm
