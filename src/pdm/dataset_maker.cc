#include "pdm/dataset_maker.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/random.h"
#include "pdm/run_reader.h"

namespace officina::pdm {

namespace {

Result<void> write_text(const std::string& path, const std::string& text) {
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

}  // namespace

MadeDataset split_runs(const RunDataset& runs, const MakeDatasetOptions& options) {
  MadeDataset made;
  for (RunDataset* d : {&made.train, &made.test}) {
    d->setting_names = runs.setting_names;
    d->sensor_names = runs.sensor_names;
  }
  made.train.source = runs.source + " (train)";
  made.test.source = runs.source + " (test)";
  made.sensor_names = runs.sensor_names;
  const size_t n = runs.units.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(mix_seed(options.seed ^ 0xda7a5e7ull));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng.uniform() * static_cast<double>(i))]);
  const size_t n_test = static_cast<size_t>(std::lround(std::clamp(options.test_fraction, 0.0, 1.0) * static_cast<double>(n)));
  std::vector<bool> is_test(n, false);
  for (size_t i = 0; i < n_test; ++i) is_test[order[i]] = true;
  const size_t ns = runs.setting_count(), nx = runs.sensor_count();
  // File order within each set, so the sets read like the source.
  for (size_t u = 0; u < n; ++u) {
    const Unit& unit = runs.units[u];
    if (!is_test[u] || unit.length() < 2) {
      Unit copy = unit;
      copy.id = static_cast<int64_t>(made.train.units.size() + 1);
      made.train.units.push_back(std::move(copy));
      continue;
    }
    const size_t len = unit.length();
    const size_t lo = std::min(options.min_test_cycles, len - 1), hi = len - 1;
    const size_t keep = std::max<size_t>(1, lo + static_cast<size_t>(rng.uniform() * static_cast<double>(hi - lo + 1)));
    Unit cut = truncate_unit(unit, std::min(keep, hi), ns, nx);
    cut.id = static_cast<int64_t>(made.test.units.size() + 1);
    made.rul.push_back(static_cast<double>(unit.cycles.back() - cut.cycles.back()));
    made.test.units.push_back(std::move(cut));
  }
  return made;
}

Result<MadeDataset> make_dataset(const std::string& runs_dir, const std::string& machine,
                                 const MakeDatasetOptions& options) {
  const std::string index_path = (std::filesystem::path(runs_dir) / "index.json").string();
  OFFICINA_TRY(Json index, read_json_file(index_path));
  if (!index.contains("machines") || !index["machines"].is_array()) {
    return fail("{}: no 'machines' list (is this a `twin export-runs` directory?)", index_path);
  }
  std::string known;
  for (const Json& m : index["machines"]) {
    std::string name = m.value("machine", ""), line = m.value("line", "");
    std::vector<std::string> files = m.value("files", std::vector<std::string>{});
    if (files.empty()) continue;
    std::string stem = files[0].substr(0, files[0].rfind('.'));
    known += (known.empty() ? "" : ", ") + name;
    if (machine != name && machine != stem && machine != line + "/" + name) continue;
    const std::string path = (std::filesystem::path(runs_dir) / files[0]).string();
    OFFICINA_TRY(RunDataset runs, read_runs(path, DataFormat::kCmapss));
    MadeDataset made = split_runs(runs, options);
    made.machine = stem;
    std::vector<std::string> names;
    if (m.contains("sensors") && m["sensors"].is_array()) {
      for (const Json& s : m["sensors"]) names.push_back(s.value("name", ""));
    }
    if (names.size() == runs.sensor_count()) made.sensor_names = names;
    return made;
  }
  return fail("{}: no machine '{}' with sensor runs (there are: {})", index_path, machine, known.empty() ? "none" : known);
}

Result<void> apply_dataset_names(RunDataset& data, const std::string& data_path) {
  const auto sidecar = std::filesystem::path(data_path).parent_path() / "dataset.json";
  if (!std::filesystem::exists(sidecar)) return {};
  OFFICINA_TRY(Json info, read_json_file(sidecar.string()));
  std::vector<std::string> names;
  try {
    names = info.value("sensors", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return fail("{}: 'sensors': {}", sidecar.string(), e.what());
  }
  if (names.size() == data.sensor_count()) data.sensor_names = names;
  return {};
}

Result<std::vector<std::string>> write_dataset(const MadeDataset& made, const MakeDatasetOptions& options,
                                               const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return fail("{}: cannot create the directory: {}", out_dir, ec.message());
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& text) -> Result<void> {
    std::string path = (std::filesystem::path(out_dir) / name).string();
    OFFICINA_CHECK(write_text(path, text));
    written.push_back(path);
    return {};
  };
  if (!made.train.units.empty()) {
    OFFICINA_CHECK(put("train.txt", format_cmapss(made.train)));
  }
  if (!made.test.units.empty()) {
    OFFICINA_CHECK(put("test.txt", format_cmapss(made.test)));
    std::string rul;
    for (double r : made.rul) rul += fmt::format("{}\n", r);
    OFFICINA_CHECK(put("RUL.txt", rul));
  }
  Json info = {{"machine", made.machine},
               {"sensors", made.sensor_names},
               {"train_units", made.train.units.size()},
               {"test_units", made.test.units.size()},
               {"test_fraction", options.test_fraction},
               {"seed", options.seed},
               {"min_test_cycles", options.min_test_cycles}};
  OFFICINA_CHECK(put("dataset.json", info.dump(2) + "\n"));
  return written;
}

}  // namespace officina::pdm
