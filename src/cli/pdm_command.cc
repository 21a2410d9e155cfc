// `officina pdm ...`: predictive maintenance from the command line.
//   pdm train --data TRAIN.txt [--format cmapss|csv] [--columns MAPPING] [--model gbt|nn|ensemble]
//             [--rul-cap 125] [--seed S] [--members 5] [--window 30] [--epochs 40] [--threads T]
//             [--drop-features G,..] --out MODEL_DIR
//   pdm predict --model MODEL_DIR --data TEST.txt [--json]
//   pdm evaluate --model MODEL_DIR --data TEST.txt --rul RUL.txt [--json]
//   pdm anomalies --model MODEL_DIR --data FILE [--json]
//   pdm make-dataset --runs RUNS_DIR --machine NAME [--test-fraction 0.3] [--seed S] --out DIR
// Thin: parsing arguments, calling src/pdm, printing.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "base/json_util.h"
#include "base/thread_pool.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "pdm/dataset_maker.h"
#include "pdm/metrics.h"
#include "pdm/rul_model.h"
#include "pdm/run_reader.h"

namespace officina::cli {

namespace {

struct PdmArgs {
  std::string data, format = "cmapss", columns, model = "gbt", out, rul;
  std::string model_dir;
  std::string drop_features;
  double rul_cap = 125;
  double coverage = 0.9;
  uint64_t seed = 1;
  int members = 5;
  size_t window = 30;
  int epochs = 40;
  int threads = 0;
  bool json = false;
  // make-dataset
  std::string runs, machine;
  double test_fraction = 0.3;
  size_t min_test_cycles = 31;
};

Result<pdm::RunDataset> load_data(const PdmArgs& a) {
  OFFICINA_TRY(pdm::DataFormat format, pdm::parse_data_format(a.format));
  pdm::ColumnMapping mapping;
  if (!a.columns.empty()) {
    if (format != pdm::DataFormat::kCsv) return fail("--columns applies to --format csv only");
    OFFICINA_TRY(mapping, pdm::parse_column_mapping(a.columns));
  }
  OFFICINA_TRY(pdm::RunDataset data, pdm::read_runs(a.data, format, mapping));
  OFFICINA_CHECK(pdm::apply_dataset_names(data, a.data));
  return data;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

Result<void> run_train(const PdmArgs& a) {
  OFFICINA_TRY(pdm::RulFamily family, pdm::parse_rul_family(a.model));
  pdm::RulTrainOptions o;
  o.family = family;
  o.rul_cap = a.rul_cap;
  o.seed = a.seed;
  o.members = a.members;
  o.coverage = a.coverage;
  o.window = a.window;
  o.nn.max_epochs = a.epochs;
  if (!a.drop_features.empty()) {
    std::string_view rest = a.drop_features;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      OFFICINA_TRY(pdm::FeatureGroup g, pdm::parse_feature_group(rest.substr(0, comma)));
      o.feature_groups &= ~pdm::feature_group_bit(g);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (a.epochs < 1 || a.epochs > 10000) return fail("--epochs must be 1 to 10000");
  OFFICINA_TRY(pdm::RunDataset data, load_data(a));
  ThreadPool pool(a.threads);
  pdm::RulTrainReport report;
  auto start = std::chrono::steady_clock::now();
  OFFICINA_TRY(pdm::RulModel model, pdm::RulModel::train(data, o, pool, &report));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  OFFICINA_CHECK(model.save(a.out));
  if (family == pdm::RulFamily::kNeural) {
    std::printf("trained nn on %zu units (%zu windows of %zu cycles, %d regime(s)); %zu units held out for the intervals\n",
                report.train_units, report.nn_rows, a.window, report.regimes, report.calibration_units);
  } else {
    std::printf("trained %s on %zu units (%zu rows, %zu features, %d regime(s)); %zu units held out for the intervals\n",
                a.model.c_str(), report.train_units, report.rows, report.features, report.regimes,
                report.calibration_units);
  }
  std::printf("sensors kept: %s\n", join(model.sensor_names(), ", ").c_str());
  if (!report.dropped_sensors.empty()) std::printf("sensors dropped (constant): %s\n", join(report.dropped_sensors, ", ").c_str());
  for (size_t m = 0; m < report.members.size(); ++m) {
    const pdm::GbtTrainInfo& i = report.members[m];
    std::printf("member %zu: %d trees, train RMSE %.2f, validation RMSE %.2f\n", m + 1, i.rounds, i.train_rmse,
                i.validation_rmse);
  }
  if (family == pdm::RulFamily::kEnsemble) {
    std::printf("networks: %zu windows of %zu cycles\n", report.nn_rows, a.window);
  }
  for (size_t m = 0; m < report.nets.size(); ++m) {
    const pdm::SequenceTrainInfo& i = report.nets[m];
    std::printf("network %zu: %d epochs (best %d), train RMSE %.2f, validation RMSE %.2f\n", m + 1, i.epochs,
                i.best_epoch, i.train_rmse, i.validation_rmse);
  }
  std::fprintf(stderr, "trained in %.1f s on %d thread(s)\n", seconds, pool.size());
  std::printf("model written to %s\n", a.out.c_str());
  return {};
}

Result<void> run_predict(const PdmArgs& a) {
  OFFICINA_TRY(pdm::RulModel model, pdm::RulModel::load(a.model_dir));
  OFFICINA_TRY(pdm::RunDataset data, load_data(a));
  OFFICINA_TRY(std::vector<pdm::UnitPrediction> preds, model.predict(data));
  if (a.json) {
    Json out = Json::array();
    for (const auto& p : preds) {
      out.push_back({{"unit", p.unit}, {"rul", p.rul}, {"lo", p.lo}, {"hi", p.hi}, {"drivers", p.drivers},
                     {"cycles", p.cycles}, {"health_index", p.health_index}});
    }
    std::printf("%s\n", out.dump().c_str());
    return {};
  }
  std::printf("%6s %7s %8s %8s %8s %7s  %s\n", "unit", "cycles", "rul", "lo90", "hi90", "health", "drivers");
  for (const auto& p : preds) {
    std::printf("%6lld %7zu %8.1f %8.1f %8.1f %7.2f  %s\n", static_cast<long long>(p.unit), p.cycles, p.rul, p.lo,
                p.hi, p.health_index, join(p.drivers, ",").c_str());
  }
  return {};
}

Result<void> run_evaluate(const PdmArgs& a) {
  OFFICINA_TRY(pdm::RulModel model, pdm::RulModel::load(a.model_dir));
  OFFICINA_TRY(pdm::RunDataset data, load_data(a));
  OFFICINA_TRY(std::vector<double> truth, pdm::read_rul_file(a.rul));
  if (truth.size() != data.units.size()) {
    return fail("{}: {} RUL values, but {} has {} units", a.rul, truth.size(), a.data, data.units.size());
  }
  OFFICINA_TRY(std::vector<pdm::UnitPrediction> preds, model.predict(data));
  std::vector<double> p, lo, hi;
  for (const auto& u : preds) p.push_back(u.rul), lo.push_back(u.lo), hi.push_back(u.hi);
  OFFICINA_TRY(pdm::RulScores s, pdm::score_rul(p, lo, hi, truth));
  if (a.json) {
    Json out = {{"units", s.units}, {"rmse", s.rmse}, {"mae", s.mae}, {"phm08", s.phm08},
                {"coverage", s.coverage}, {"mean_interval_width", s.mean_width}, {"family", pdm::rul_family_name(model.family())}};
    std::printf("%s\n", out.dump(2).c_str());
    return {};
  }
  std::printf("units                %zu\n", s.units);
  std::printf("RMSE                 %.2f\n", s.rmse);
  std::printf("MAE                  %.2f\n", s.mae);
  std::printf("PHM08 score          %.1f\n", s.phm08);
  std::printf("90%% interval cover   %.1f%% (mean width %.1f)\n", 100 * s.coverage, s.mean_width);
  return {};
}

Result<void> run_anomalies(const PdmArgs& a) {
  OFFICINA_TRY(pdm::RulModel model, pdm::RulModel::load(a.model_dir));
  OFFICINA_TRY(pdm::RunDataset data, load_data(a));
  OFFICINA_TRY(std::vector<pdm::Alarm> alarms, model.anomalies(data));
  const std::vector<std::string> names = model.sensor_names();
  auto drivers = [&](const pdm::Alarm& al) {
    std::vector<std::string> d;
    for (size_t i : al.drivers) d.push_back(names[i]);
    return d;
  };
  if (a.json) {
    Json out = Json::array();
    for (const auto& al : alarms) {
      out.push_back({{"unit", al.unit}, {"start_cycle", al.start_cycle}, {"end_cycle", al.end_cycle},
                     {"open", al.open}, {"peak_health_index", al.peak}, {"drivers", drivers(al)}});
    }
    std::printf("%s\n", out.dump().c_str());
    return {};
  }
  std::printf("health index alarm on > %.2f, off < %.2f\n", model.health().on_threshold(), model.health().off_threshold());
  std::printf("%6s %8s %8s %6s %6s  %s\n", "unit", "start", "end", "open", "peak", "drivers");
  for (const auto& al : alarms) {
    std::printf("%6lld %8lld %8lld %6s %6.2f  %s\n", static_cast<long long>(al.unit),
                static_cast<long long>(al.start_cycle), static_cast<long long>(al.end_cycle), al.open ? "yes" : "no",
                al.peak, join(drivers(al), ",").c_str());
  }
  std::printf("%zu alarm(s) in %zu unit(s)\n", alarms.size(), data.units.size());
  return {};
}

Result<void> run_make_dataset(const PdmArgs& a) {
  if (!(a.test_fraction >= 0 && a.test_fraction <= 1)) return fail("--test-fraction must be between 0 and 1");
  pdm::MakeDatasetOptions o;
  o.test_fraction = a.test_fraction;
  o.seed = a.seed;
  o.min_test_cycles = a.min_test_cycles;
  OFFICINA_TRY(pdm::MadeDataset made, pdm::make_dataset(a.runs, a.machine, o));
  OFFICINA_TRY(std::vector<std::string> files, pdm::write_dataset(made, o, a.out));
  std::printf("%s: %zu training units, %zu test units (sensors: %s) written to %s\n", made.machine.c_str(),
              made.train.units.size(), made.test.units.size(), join(made.sensor_names, ", ").c_str(), a.out.c_str());
  return {};
}

void run(const Result<void>& r) {
  if (!r) report(r.error());
}

void data_options(CLI::App* cmd, PdmArgs& a) {
  cmd->add_option("--data", a.data, "sensor histories (C-MAPSS text or CSV)")->required();
  cmd->add_option("--format", a.format, "cmapss or csv")->capture_default_str();
  cmd->add_option("--columns", a.columns, "CSV column mapping: unit=COL,cycle=COL,settings=A;B,sensors=X;Y");
}

}  // namespace

void add_pdm_command(CLI::App& app) {
  auto a = std::make_shared<PdmArgs>();
  CLI::App* pdm = app.add_subcommand("pdm", "Predictive maintenance: anomalies and remaining useful life with intervals");
  pdm->require_subcommand(1);

  CLI::App* train = pdm->add_subcommand("train", "Train a RUL model (and the anomaly detector) on run-to-failure data");
  data_options(train, *a);
  train->add_option("--model", a->model, "gbt, nn or ensemble")->capture_default_str();
  train->add_option("--rul-cap", a->rul_cap, "cap of the piecewise-linear RUL target (0 = none)")->capture_default_str();
  train->add_option("--seed", a->seed, "seed of every random choice")->capture_default_str();
  train->add_option("--members", a->members, "ensemble members")->capture_default_str();
  train->add_option("--window", a->window, "cycles the neural model sees (nn, ensemble)")->capture_default_str();
  train->add_option("--epochs", a->epochs, "most training epochs of the neural model")->capture_default_str();
  train->add_option("--coverage", a->coverage, "prediction interval coverage")->capture_default_str();
  train->add_option("--threads", a->threads, "worker threads (0 = all cores)")->capture_default_str();
  train->add_option("--drop-features", a->drop_features,
                    "feature groups to leave out: last, mean, slope, ewma, minmax, cycle, health, settings");
  train->add_option("--out", a->out, "model directory")->required();
  train->callback([a] { run(run_train(*a)); });

  CLI::App* predict = pdm->add_subcommand("predict", "RUL with a 90% interval and the driving sensors, per unit");
  predict->add_option("--model", a->model_dir, "model directory")->required();
  data_options(predict, *a);
  predict->add_flag("--json", a->json, "one JSON list, one object per unit in file order");
  predict->callback([a] { run(run_predict(*a)); });

  CLI::App* evaluate = pdm->add_subcommand("evaluate", "RMSE, PHM08 score and interval coverage against true RUL");
  evaluate->add_option("--model", a->model_dir, "model directory")->required();
  data_options(evaluate, *a);
  evaluate->add_option("--rul", a->rul, "true RUL, one number per test unit")->required();
  evaluate->add_flag("--json", a->json, "print JSON");
  evaluate->callback([a] { run(run_evaluate(*a)); });

  CLI::App* anomalies = pdm->add_subcommand("anomalies", "Health-index alarms (with hysteresis) and their driving sensors");
  anomalies->add_option("--model", a->model_dir, "model directory")->required();
  data_options(anomalies, *a);
  anomalies->add_flag("--json", a->json, "print JSON");
  anomalies->callback([a] { run(run_anomalies(*a)); });

  CLI::App* make = pdm->add_subcommand("make-dataset", "Train/test/RUL files from `twin export-runs` output");
  make->add_option("--runs", a->runs, "directory written by `officina twin export-runs`")->required();
  make->add_option("--machine", a->machine, "machine name (or LINE__MACHINE)")->required();
  make->add_option("--test-fraction", a->test_fraction, "share of runs cut for the test set")->capture_default_str();
  make->add_option("--min-test-cycles", a->min_test_cycles, "shortest test unit where the run allows")->capture_default_str();
  make->add_option("--seed", a->seed, "seed of the split and the cuts")->capture_default_str();
  make->add_option("--out", a->out, "output directory")->required();
  make->callback([a] { run(run_make_dataset(*a)); });
}

}  // namespace officina::cli
