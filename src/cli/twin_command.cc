// `officina twin ...`: the plant digital twin from the command line.
//   twin validate PLANT.yaml
//   twin simulate PLANT.yaml [--horizon 30d] [--replications N] [--seed S]
//                 [--scenario FILE] [--threads T] [--warmup 1d] [--json OUT]
//   twin export-runs PLANT.yaml --out DIR [--horizon 180d] [--replications N] [--seed S]
// Thin: parsing arguments, calling src/twin, printing.
#include <cstdio>
#include <memory>
#include <string>
#include <unistd.h>

#include "base/atomic_file.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "twin/duration.h"
#include "twin/kpi_report.h"
#include "twin/plant_parser.h"
#include "twin/plant_validator.h"
#include "twin/random_streams.h"
#include "twin/replication_runner.h"
#include "twin/run_export.h"
#include "twin/scenario.h"

namespace officina::cli {

namespace {

struct TwinArgs {
  std::string plant;
  std::string horizon;
  std::string warmup = "0";
  std::string scenario;
  std::string json;
  std::string out;
  int replications = 10;
  int export_replications = 1;
  uint64_t seed = 1;
  int threads = 0;
};

int report(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  return 1;
}

Result<double> horizon_of(const TwinArgs& a, const twin::Plant& plant) {
  if (a.horizon.empty()) return plant.horizon;
  auto h = twin::parse_duration(a.horizon);
  if (!h) return fail("--horizon: {}", h.error().message);
  OFFICINA_CHECK(twin::validate_horizon(*h, "--horizon"));
  return *h;
}

int run_validate(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  size_t machines = 0, sensors = 0;
  for (const auto& line : plant->lines) {
    machines += line.machines.size();
    for (const auto& m : line.machines) sensors += m.sensors.size();
  }
  std::printf("%s: valid — plant '%s', %zu line(s), %zu machine(s), %zu sensor(s), %zu product(s)\n", a.plant.c_str(),
              plant->name.c_str(), plant->lines.size(), machines, sensors, plant->products.size());
  return 0;
}

void progress(const char* what, int done, int total) {
  if (!isatty(fileno(stderr)) && done != total) return;
  std::fprintf(stderr, "\r%s: %d/%d replications%s", what, done, total, done == total ? "\n" : "");
  std::fflush(stderr);
}

int run_simulate(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  auto horizon = horizon_of(a, *plant);
  if (!horizon) return report(horizon.error());
  auto warmup = twin::parse_duration(a.warmup);
  if (!warmup) return report(Error{"--warmup: " + warmup.error().message});
  std::unique_ptr<twin::Scenario> scenario;
  if (!a.scenario.empty()) {
    auto s = twin::load_scenario(*plant, a.scenario);
    if (!s) return report(s.error());
    scenario = std::make_unique<twin::Scenario>(std::move(*s));
  }
  ThreadPool pool(a.threads);
  twin::ReplicationOptions o;
  o.simulation.horizon = *horizon;
  o.simulation.warmup = *warmup;
  o.simulation.seed = a.seed;
  o.replications = a.replications;
  o.progress = [](int done, int total) { progress("baseline", done, total); };
  auto base = twin::run_replications(*plant, o, pool);
  if (!base) return report(base.error());
  std::string title = fmt::format("{} — {} over {}", plant->name, "baseline", twin::format_duration(*horizon));
  std::fputs(twin::kpi_table(base->summary, title).c_str(), stdout);

  Json json = {{"plant", plant->name}, {"horizon_s", *horizon}, {"warmup_s", *warmup}, {"seed", a.seed},
               {"replications", a.replications}, {"threads", pool.size()},
               {"events_per_second", base->summary.events_per_second},
               {"replications_per_second", a.replications / std::max(base->elapsed_seconds, 1e-9)},
               {"baseline", twin::summary_json(base->summary)}};
  if (scenario) {
    o.progress = [](int done, int total) { progress("scenario", done, total); };
    auto alt = twin::run_replications(scenario->plant, o, pool);
    if (!alt) return report(alt.error());
    twin::RunSummary diff = twin::summarize_difference(alt->runs, base->runs);
    std::fputs("\n", stdout);
    std::fputs(twin::kpi_table(alt->summary, "scenario " + scenario->name).c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(twin::kpi_table(diff, "difference scenario - baseline (paired by seed)").c_str(), stdout);
    json["scenario"] = twin::summary_json(alt->summary);
    json["scenario"]["name"] = scenario->name;
    json["scenario"]["description"] = scenario->description;
    json["difference"] = twin::summary_json(diff);
  }
  if (!a.json.empty()) {
    std::string text = json.dump(2) + "\n";
    auto file = AtomicFile::create(a.json);
    if (!file) return report(file.error());
    if (auto w = file->write(text.data(), text.size()); !w) return report(w.error());
    if (auto c = file->commit(); !c) return report(c.error());
  }
  return 0;
}

int run_export(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  auto horizon = horizon_of(a, *plant);
  if (!horizon) return report(horizon.error());
  const int n = a.export_replications;
  if (n < 1 || n > 1000) return report(Error{"--replications: must be between 1 and 1000"});
  std::vector<twin::SimulationResult> results;
  for (int r = 0; r < n; ++r) {
    twin::SimulationOptions o;
    o.horizon = *horizon;
    o.seed = twin::replication_seed(a.seed, r);
    o.record_sensors = true;
    auto run = twin::simulate(*plant, o);
    if (!run) return report(run.error());
    results.push_back(std::move(*run));
    progress("export", r + 1, n);
  }
  auto summary = twin::export_runs(*plant, results, a.out);
  if (!summary) return report(summary.error());
  std::printf("%zu runs to failure (%llu censored by maintenance) written to %s (%zu files)\n", summary->runs,
              static_cast<unsigned long long>(summary->censored), a.out.c_str(), summary->files.size());
  return 0;
}

}  // namespace

void add_twin_command(CLI::App& app) {
  auto args = std::make_shared<TwinArgs>();
  CLI::App* twin = app.add_subcommand("twin", "Digital twin of a plant: validate, simulate, what-if, run-to-failure data");
  twin->require_subcommand(1);

  CLI::App* validate = twin->add_subcommand("validate", "Check a plant YAML file and report every problem with its path");
  validate->add_option("plant", args->plant, "plant description (YAML)")->required();
  validate->callback([args] { exit_code() = run_validate(*args); });

  CLI::App* simulate = twin->add_subcommand("simulate", "Run replications and print KPIs with 95% confidence intervals");
  simulate->add_option("plant", args->plant, "plant description (YAML)")->required();
  simulate->add_option("--horizon", args->horizon, "simulated time: 30d, 12h, 90m or seconds (default: the plant's)");
  simulate->add_option("--warmup", args->warmup, "time discarded before KPIs count")->capture_default_str();
  simulate->add_option("--replications,-n", args->replications, "independent replications")->capture_default_str();
  simulate->add_option("--seed", args->seed, "base seed")->capture_default_str();
  simulate->add_option("--scenario", args->scenario, "what-if overrides (YAML); also prints the paired difference");
  simulate->add_option("--threads", args->threads, "worker threads (0 = all cores)")->capture_default_str();
  simulate->add_option("--json", args->json, "write KPIs as JSON to this file");
  simulate->callback([args] { exit_code() = run_simulate(*args); });

  CLI::App* exp = twin->add_subcommand("export-runs", "Write sensor histories up to each failure (C-MAPSS text and CSV)");
  exp->add_option("plant", args->plant, "plant description (YAML)")->required();
  exp->add_option("--out", args->out, "output directory")->required();
  exp->add_option("--horizon", args->horizon, "simulated time per replication (default: the plant's)");
  exp->add_option("--replications,-n", args->export_replications, "independent runs to concatenate")->capture_default_str();
  exp->add_option("--seed", args->seed, "base seed")->capture_default_str();
  exp->callback([args] { exit_code() = run_export(*args); });
}

}  // namespace officina::cli
