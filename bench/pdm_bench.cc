// Evaluation of the predictive-maintenance models on run-to-failure data
// from the twin (plain main, not a test). For each dataset it simulates the
// demo plant for a year × N replications with one seed to make the training
// set and with a different seed to make the test set (test runs cut at a
// random cycle, >= 31 where possible, with the true RUL kept), trains GBT, the
// neural model (1D CNN) and the ensemble of both, and reports RMSE, the PHM08 score (also per unit), 90 %
// interval coverage and width, and training time. A constant predictor (the
// mean RUL of the training runs cut the same way) is the yardstick. Then an
// ablation: the GBT retrained without each feature group, and the neural
// model without each of its input blocks.
//
// Datasets:
//   rtf/forno-verniciatura, rtf/centro-cnc: the demo plant with every
//     maintenance policy switched to corrective, so machines run until they
//     fail: wear-driven failures (fan bearing, tool) mixed with random ones
//     (burner, spindle bearing) — the case predictive maintenance is for;
//   demo/forno-verniciatura: the demo plant as it is; condition-based
//     maintenance prevents every wear failure, so its runs to failure are
//     the random burner faults, which no sensor foretells (a control: the
//     model should do no better than the constant, and its intervals should
//     still cover).
// The twin's runs count 10-minute (oven) or 5-minute (CNC) sensor ticks and
// last hundreds of ticks, so the C-MAPSS cap of 125 cycles would flatten
// most of the target: the main rows use no cap and one row shows cap 125.
//
// Prints the machine (CPU, nproc, load), a table, and writes JSON to argv[1]
// (default pdm-bench.json).
//   pdm_bench [OUT.json] [--replications N] [--quick]
#include "bench_machine.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "pdm/dataset_maker.h"
#include "pdm/metrics.h"
#include "pdm/rul_model.h"
#include "pdm/run_reader.h"
#include "twin/plant_parser.h"
#include "twin/random_streams.h"
#include "twin/run_export.h"
#include "twin/simulator.h"

namespace {

using officina::Json;
namespace pdm = officina::pdm;
namespace twin = officina::twin;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

template <class T>
T must(officina::Result<T> r) {
  if (!r) die(r.error().message);
  return std::move(*r);
}

// Simulates and exports the plant's runs to failure; returns the export dir.
std::string export_runs(const twin::Plant& plant, uint64_t seed, int replications, const std::string& dir) {
  std::vector<twin::SimulationResult> results;
  for (int r = 0; r < replications; ++r) {
    twin::SimulationOptions o;
    o.horizon = 365 * 86400.0;
    o.seed = twin::replication_seed(seed, static_cast<uint64_t>(r));
    o.record_sensors = true;
    results.push_back(must(twin::simulate(plant, o)));
  }
  must(twin::export_runs(plant, results, dir));
  return dir;
}

struct Row {
  std::string dataset, model, note, base;
  pdm::RulScores scores;
  double train_seconds = 0;
  size_t train_units = 0;
};

Json row_json(const Row& r) {
  return {{"dataset", r.dataset}, {"model", r.model}, {"note", r.note}, {"units", r.scores.units},
          {"rmse", r.scores.rmse}, {"mae", r.scores.mae}, {"phm08", r.scores.phm08},
          {"phm08_per_unit", r.scores.phm08 / static_cast<double>(std::max<size_t>(r.scores.units, 1))},
          {"coverage90", r.scores.coverage}, {"mean_interval_width", r.scores.mean_width},
          {"train_seconds", r.train_seconds}, {"train_units", r.train_units}, {"compared_with", r.base}};
}

void print_row(const Row& r) {
  std::printf("%-26s %-22s %6zu %8.2f %8.2f %12.4g %10.4g %7.1f%% %8.1f %7.2f\n", r.dataset.c_str(), r.model.c_str(),
              r.scores.units, r.scores.rmse, r.scores.mae, r.scores.phm08,
              r.scores.phm08 / static_cast<double>(std::max<size_t>(r.scores.units, 1)), 100 * r.scores.coverage,
              r.scores.mean_width, r.train_seconds);
}

Row evaluate(const std::string& dataset, const std::string& name, const pdm::RunDataset& train,
             const pdm::MadeDataset& test, pdm::RulTrainOptions options, officina::ThreadPool& pool) {
  auto start = std::chrono::steady_clock::now();
  pdm::RulTrainReport report;
  pdm::RulModel model = must(pdm::RulModel::train(train, options, pool, &report));
  Row row;
  row.dataset = dataset;
  row.model = name;
  row.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.train_units = train.units.size();
  std::vector<pdm::UnitPrediction> preds = must(model.predict(test.test));
  std::vector<double> p, lo, hi;
  for (const auto& u : preds) p.push_back(u.rul), lo.push_back(u.lo), hi.push_back(u.hi);
  row.scores = must(pdm::score_rul(p, lo, hi, test.rul));
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "pdm-bench.json";
  std::string plant_path = std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml";
  int replications = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      replications = 3;
    } else if (a == "--replications" && i + 1 < argc) {
      replications = std::atoi(argv[++i]);
    } else if (a == "--plant" && i + 1 < argc) {
      plant_path = argv[++i];
    } else if (!a.starts_with("--")) {
      out = a;
    } else {
      die("usage: pdm_bench [OUT.json] [--replications N] [--quick] [--plant PLANT.yaml]");
    }
  }
  const std::string load_before = officina::bench::load_average();
  officina::ThreadPool pool(2);
  const uint64_t train_seed = 1, test_seed = 1001;

  twin::Plant demo = must(twin::load_plant(plant_path));
  twin::Plant rtf = demo;
  for (auto& line : rtf.lines) {
    for (auto& m : line.machines) m.maintenance.policy = twin::MaintenancePolicy::kCorrective;
  }
  const std::string tmp = (std::filesystem::temp_directory_path() / fmt::format("officina-pdm-bench-{}", getpid())).string();
  struct Source {
    std::string name;
    const twin::Plant* plant;
    std::string machine;
  };
  const std::vector<Source> sources = {{"rtf/forno-verniciatura", &rtf, "forno-verniciatura"},
                                       {"rtf/centro-cnc", &rtf, "centro-cnc"},
                                       {"demo/forno-verniciatura", &demo, "forno-verniciatura"}};
  std::printf("machine: %s, nproc %ld, load average %s (before)\n", officina::bench::cpu_model().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), load_before.c_str());
  std::printf("twin: %s, %d replications x 365 d, train seed %llu, test seed %llu; 2 threads\n\n", plant_path.c_str(),
              replications, static_cast<unsigned long long>(train_seed), static_cast<unsigned long long>(test_seed));
  std::printf("%-26s %-22s %6s %8s %8s %12s %10s %8s %8s %7s\n", "dataset", "model", "units", "RMSE", "MAE", "PHM08",
              "PHM08/unit", "cover90", "width", "train s");

  std::vector<Row> rows, ablation;
  for (const Source& s : sources) {
    const std::string dir_train = export_runs(*s.plant, train_seed, replications, tmp + "/" + s.name + "-train");
    const std::string dir_test = export_runs(*s.plant, test_seed, replications, tmp + "/" + s.name + "-test");
    pdm::MakeDatasetOptions all_train;
    all_train.test_fraction = 0;
    pdm::MakeDatasetOptions all_test;
    all_test.test_fraction = 1;
    all_test.seed = test_seed;
    pdm::RunDataset train = must(pdm::make_dataset(dir_train, s.machine, all_train)).train;
    pdm::MadeDataset test = must(pdm::make_dataset(dir_test, s.machine, all_test));
    train.sensor_names = test.sensor_names;
    test.test.sensor_names = test.sensor_names;
    if (train.units.size() < 10 || test.test.units.size() < 10) {
      std::printf("%-26s too few runs to failure (%zu train, %zu test)\n", s.name.c_str(), train.units.size(),
                  test.test.units.size());
      continue;
    }
    // The yardstick: the mean RUL of the training runs cut like the test runs.
    pdm::MakeDatasetOptions cut = all_test;
    cut.seed = train_seed;
    std::vector<double> train_rul = pdm::split_runs(train, cut).rul;
    double mean = 0;
    for (double r : train_rul) mean += r;
    mean /= static_cast<double>(train_rul.size());
    Row constant;
    constant.dataset = s.name;
    constant.model = "constant (mean RUL)";
    std::vector<double> c(test.rul.size(), mean);
    constant.scores = must(pdm::score_rul(c, c, c, test.rul));
    constant.scores.coverage = 0;
    constant.train_units = train.units.size();
    rows.push_back(constant);
    print_row(constant);

    pdm::RulTrainOptions gbt;
    gbt.rul_cap = 0;
    gbt.seed = 7;
    rows.push_back(evaluate(s.name, "gbt", train, test, gbt, pool));
    print_row(rows.back());
    pdm::RulTrainOptions nn = gbt;
    nn.family = pdm::RulFamily::kNeural;
    rows.push_back(evaluate(s.name, "nn", train, test, nn, pool));
    print_row(rows.back());
    pdm::RulTrainOptions ens = gbt;
    ens.family = pdm::RulFamily::kEnsemble;
    rows.push_back(evaluate(s.name, "ensemble (5 gbt + 5 nn)", train, test, ens, pool));
    print_row(rows.back());
    pdm::RulTrainOptions capped = gbt;
    capped.rul_cap = 125;
    rows.push_back(evaluate(s.name, "gbt, cap 125", train, test, capped, pool));
    print_row(rows.back());
    if (s.plant != &rtf) continue;
    for (int g = 0; g < pdm::kFeatureGroupCount; ++g) {
      pdm::RulTrainOptions o = gbt;
      auto group = static_cast<pdm::FeatureGroup>(g);
      o.feature_groups &= ~pdm::feature_group_bit(group);
      Row r = evaluate(s.name, fmt::format("gbt without {}", pdm::feature_group_name(group)), train, test, o, pool);
      r.note = std::string(pdm::feature_group_name(group));
      r.base = "gbt";
      ablation.push_back(r);
    }
    // The network's input blocks: the sensor channels (any sensor group),
    // health, settings, and the cycle count.
    const uint32_t sensors = pdm::feature_group_bit(pdm::FeatureGroup::kLast) | pdm::feature_group_bit(pdm::FeatureGroup::kMean) |
                             pdm::feature_group_bit(pdm::FeatureGroup::kSlope) | pdm::feature_group_bit(pdm::FeatureGroup::kEwma) |
                             pdm::feature_group_bit(pdm::FeatureGroup::kMinMax);
    for (auto [label, drop] : {std::pair{"sensors", sensors}, std::pair{"health", pdm::feature_group_bit(pdm::FeatureGroup::kHealth)},
                               std::pair{"settings", pdm::feature_group_bit(pdm::FeatureGroup::kSettings)},
                               std::pair{"cycle", pdm::feature_group_bit(pdm::FeatureGroup::kCycle)}}) {
      pdm::RulTrainOptions o = nn;
      o.feature_groups &= ~drop;
      Row r = evaluate(s.name, fmt::format("nn without {}", label), train, test, o, pool);
      r.note = label;
      r.base = "nn";
      ablation.push_back(r);
    }
    // Groups overlap (wear shows in last, mean and ewma alike; cycles and
    // setting3, hours since renewal, both measure age), so also: age alone,
    // and the sensors without any age feature.
    const uint32_t age = pdm::feature_group_bit(pdm::FeatureGroup::kCycle) | pdm::feature_group_bit(pdm::FeatureGroup::kSettings);
    for (auto [label, groups] : {std::pair{"gbt age only", age}, std::pair{"gbt sensors only", pdm::kAllFeatureGroups & ~age}}) {
      pdm::RulTrainOptions o = gbt;
      o.feature_groups = groups;
      Row r = evaluate(s.name, label, train, test, o, pool);
      r.note = label;
      r.base = "gbt";
      ablation.push_back(r);
    }
  }
  std::printf("\nablation (no cap): change in RMSE when one feature group is left out (+ = the group helps)\n");
  for (const Row& r : ablation) {
    double full = 0;
    for (const Row& b : rows) {
      if (b.dataset == r.dataset && b.model == r.base) full = b.scores.rmse;
    }
    print_row(r);
    std::printf("%-26s %-22s %+8.2f RMSE vs all groups\n", "", "", r.scores.rmse - full);
  }
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);

  Json json = {{"bench", "pdm"}, {"plant", plant_path}, {"replications", replications}, {"horizon_days", 365},
               {"train_seed", train_seed}, {"test_seed", test_seed}, {"threads", pool.size()},
               {"machine", {{"cpu", officina::bench::cpu_model()}, {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
                            {"load_before", load_before}, {"load_after", officina::bench::load_average()}}},
               {"results", Json::array()}, {"ablation", Json::array()}};
  for (const Row& r : rows) json["results"].push_back(row_json(r));
  for (const Row& r : ablation) json["ablation"].push_back(row_json(r));
  std::string text = json.dump(2) + "\n";
  auto file = officina::AtomicFile::create(out);
  if (!file || !file->write(text.data(), text.size()) || !file->commit()) die("cannot write " + out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
