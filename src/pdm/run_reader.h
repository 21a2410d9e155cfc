// Readers for run-to-failure data and true-RUL files.
//
// C-MAPSS text layout (the NASA turbofan files, and `twin export-runs`):
//   unit cycle setting1 setting2 setting3 sensor1 ... sensorN
// one row per cycle, separated by spaces or tabs, no header; trailing spaces
// and CR line ends (as in the NASA files) are fine, blank lines are skipped.
// Sensors are named s1..sN, settings setting1..setting3.
//
// CSV: a header row, comma separated, with a column mapping saying which
// columns are the unit, the cycle, the settings and the sensors (see
// ColumnMapping). Fields may not contain commas or quotes, except that a
// header name may be wrapped in double quotes.
//
// Rules for both: unit and cycle are integers; every value is finite (nan and
// inf are rejected); every row has the same number of columns; the rows of a
// unit are contiguous and its cycles strictly increase. A unit with a single
// cycle is valid (predictions for it rest on that one reading). Every error
// is "FILE:LINE: problem" (or "FILE: problem" for the file as a whole).
//
// RUL files: one non-negative number per line (the true RUL of the test
// units in file order); blank lines and surrounding spaces are ignored.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "pdm/run_dataset.h"

namespace officina::pdm {

enum class DataFormat { kCmapss, kCsv };

// Which CSV columns hold what, by header name. Empty fields take defaults:
// unit "unit", cycle "cycle", settings every column whose name starts with
// "setting" or "op_setting", sensors every other column.
struct ColumnMapping {
  std::string unit;
  std::string cycle;
  std::vector<std::string> settings;
  bool settings_given = false;  // true: `settings` is exact, even when empty
  std::vector<std::string> sensors;
};

// "unit=engine,cycle=time,settings=op1;op2,sensors=t24;p30" (any subset, any
// order; "settings=" with nothing names no settings). Errors name the item.
Result<ColumnMapping> parse_column_mapping(std::string_view text);

// "cmapss" or "csv"; anything else is an error listing the two.
Result<DataFormat> parse_data_format(std::string_view text);

Result<RunDataset> parse_cmapss(std::string_view text, std::string_view where);
Result<RunDataset> parse_csv_runs(std::string_view text, std::string_view where, const ColumnMapping& mapping);

// Reads a file (at most 2 GiB) in the given format.
Result<RunDataset> read_runs(const std::string& path, DataFormat format, const ColumnMapping& mapping = {});

Result<std::vector<double>> parse_rul(std::string_view text, std::string_view where);
Result<std::vector<double>> read_rul_file(const std::string& path);

}  // namespace officina::pdm
