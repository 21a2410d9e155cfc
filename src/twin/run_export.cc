#include "twin/run_export.h"

#include <filesystem>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/json_util.h"

namespace officina::twin {

namespace {

std::string file_stem(const std::string& line, const std::string& machine) {
  std::string stem = line + "__" + machine;
  for (char& c : stem) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return stem;
}

Result<void> write_file(const std::string& path, const std::string& text) {
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

}  // namespace

Result<ExportSummary> export_runs(const Plant& plant, const std::vector<SimulationResult>& results, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("{}: cannot create the directory: {}", dir, ec.message());
  ExportSummary summary;
  Json index = {{"plant", plant.name}, {"layout", "unit cycle setting1 setting2 setting3 sensor1..sensorN"},
                {"settings", {"product index", "load (share of servers busy)", "hours since renewal"}},
                {"machines", Json::array()}};
  for (const SimulationResult& r : results) summary.censored += r.censored_runs;

  for (size_t l = 0; l < plant.lines.size(); ++l) {
    const Line& line = plant.lines[l];
    for (size_t mi = 0; mi < line.machines.size(); ++mi) {
      const Machine& m = line.machines[mi];
      if (m.sensors.empty()) continue;
      const size_t width = 4 + m.sensors.size();
      std::string txt, csv = "unit,cycle,setting1,setting2,setting3";
      for (const Sensor& s : m.sensors) csv += "," + s.name;
      csv += '\n';
      int unit = 0;
      Json failures = Json::object();
      for (const SimulationResult& r : results) {
        for (const SensorRun& run : r.runs) {
          if (run.line != static_cast<int>(l) || run.machine != static_cast<int>(mi) || run.rows.empty()) continue;
          ++unit;
          failures[m.failure_modes[run.failure_mode].name] = failures.value(m.failure_modes[run.failure_mode].name, 0) + 1;
          const size_t rows = run.rows.size() / width;
          for (size_t k = 0; k < rows; ++k) {
            const double* row = &run.rows[k * width];
            std::string fields = fmt::format("{} {} {:.0f} {:.4f} {:.4f}", unit, k + 1, row[1], row[2], row[3]);
            for (size_t s = 0; s < m.sensors.size(); ++s) fields += fmt::format(" {:.6g}", row[4 + s]);
            txt += fields;
            txt += '\n';
            for (char& c : fields) {
              if (c == ' ') c = ',';
            }
            csv += fields;
            csv += '\n';
          }
        }
      }
      summary.runs += unit;
      const std::string stem = file_stem(line.name, m.name);
      for (const auto& [ext, text] : {std::pair{".txt", &txt}, std::pair{".csv", &csv}}) {
        std::string path = (std::filesystem::path(dir) / (stem + ext)).string();
        OFFICINA_CHECK(write_file(path, *text));
        summary.files.push_back(path);
      }
      Json sensors = Json::array();
      for (const Sensor& s : m.sensors) sensors.push_back({{"name", s.name}, {"unit", s.unit}, {"period_s", s.period}});
      index["machines"].push_back({{"line", line.name}, {"machine", m.name}, {"files", {stem + ".txt", stem + ".csv"}},
                                   {"sensors", sensors}, {"runs_to_failure", unit}, {"failures_by_mode", failures}});
    }
  }
  index["runs_to_failure"] = summary.runs;
  index["censored_runs"] = summary.censored;
  std::string path = (std::filesystem::path(dir) / "index.json").string();
  OFFICINA_CHECK(write_file(path, index.dump(2) + "\n"));
  summary.files.push_back(path);
  return summary;
}

}  // namespace officina::twin
