// `officina twin plan PLANT.yaml --horizon 14d [--window 8h] [--replications N]
//   [--seed S] [--paths P] [--max-actions K] [--threads T] [--json OUT|-]
//   [--scenario-out FILE] [--from-store DB]`:
// a maintenance plan by MILP (CBC) from Monte-Carlo failure forecasts,
// checked by simulation against run-to-failure and the best fixed interval.
// Thin: parsing arguments, calling src/twin (plan_study.h), printing.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "base/atomic_file.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "twin/duration.h"
#include "twin/plan_report.h"
#include "twin/plan_study.h"
#include "twin/plant_parser.h"
#include "twin/plant_validator.h"
#include "twin/store_state.h"
#include "twin/store_state_report.h"

namespace officina::cli {

namespace {

struct PlanArgs {
  std::string plant;
  std::string horizon = "14d";
  std::string window = "8h";
  std::string json;
  std::string scenario_out;
  std::string from_store;
  int replications = 30;
  int pilot = 10;
  int paths = 1000;
  int max_actions = 0;
  int threads = 0;
  uint64_t seed = 1;
};

int report(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  return 1;
}

Result<double> duration_arg(const std::string& text, std::string_view name) {
  auto d = twin::parse_duration(text);
  if (!d) return fail("{}: {}", name, d.error().message);
  return *d;
}

Result<void> write_json(const std::string& path, const Json& json) {
  std::string text = json.dump(2) + "\n";
  if (path == "-") {
    std::fputs(text.c_str(), stdout);
    return {};
  }
  OFFICINA_TRY(auto file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

int run_plan(const PlanArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  // Plans for the machines as they are: the wear read from the store
  // becomes each wear state's `initial`, where the forecasts start.
  std::optional<twin::PlantStoreState> from_store;
  if (!a.from_store.empty()) {
    auto state = twin::read_store_state(*plant, a.from_store);
    if (!state) return report(state.error());
    twin::apply_store_state(*plant, *state);
    if (a.json != "-") std::fputs((twin::store_state_table(*state) + "\n").c_str(), stdout);
    from_store = std::move(*state);
  }
  twin::PlanStudyOptions o;
  auto horizon = duration_arg(a.horizon, "--horizon");
  if (!horizon) return report(horizon.error());
  if (auto ok = twin::validate_horizon(*horizon, "--horizon"); !ok) return report(ok.error());
  auto window = duration_arg(a.window, "--window");
  if (!window) return report(window.error());
  if (a.paths < 1 || a.paths > 1000000) return report(Error{fmt::format("--paths: must be in [1, 1000000] (got {})", a.paths)});
  if (a.max_actions < 0) return report(Error{fmt::format("--max-actions: must be >= 0 (got {}; 0 = no limit)", a.max_actions)});
  o.horizon = *horizon;
  o.window = *window;
  o.replications = a.replications;
  o.pilot_replications = a.pilot;
  o.forecast_paths = a.paths;
  o.max_actions = a.max_actions;
  o.seed = a.seed;
  ThreadPool pool(a.threads);
  if (isatty(fileno(stderr))) std::fprintf(stderr, "planning: pilot, forecasts, MILP, then %d replications of each policy...\n", a.replications);
  auto study = twin::run_plan_study(*plant, o, pool);
  if (!study) return report(study.error());
  if (a.json != "-") {
    std::fputs(twin::plan_table(*plant, *study, o).c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(twin::comparison_table(*study).c_str(), stdout);
  }
  if (!a.json.empty()) {
    Json json = twin::plan_study_json(*plant, *study, o);
    if (from_store) json["from_store"] = twin::store_state_json(*from_store);
    if (auto w = write_json(a.json, json); !w) return report(w.error());
  }
  if (!a.scenario_out.empty()) {
    std::string text = twin::plan_scenario_yaml(*plant, *study, o);
    auto file = AtomicFile::create(a.scenario_out);
    if (!file) return report(file.error());
    if (auto w = file->write(text.data(), text.size()); !w) return report(w.error());
    if (auto c = file->commit(); !c) return report(c.error());
  }
  return 0;
}

}  // namespace

void add_twin_plan_command(CLI::App& twin) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* plan = twin.add_subcommand("plan", "Optimise preventive maintenance windows (MILP, CBC) and check the plan by simulation");
  plan->add_option("plant", args->plant, "plant description (YAML)")->required();
  plan->add_option("--horizon", args->horizon, "planning horizon: 14d, 36h, ...")->capture_default_str();
  plan->add_option("--window", args->window, "candidate windows start every WINDOW from now")->capture_default_str();
  plan->add_option("--replications,-n", args->replications, "replications per simulated policy")->capture_default_str();
  plan->add_option("--pilot", args->pilot, "pilot replications that measure machine loads")->capture_default_str();
  plan->add_option("--paths", args->paths, "Monte-Carlo paths per machine for the failure forecasts")->capture_default_str();
  plan->add_option("--max-actions", args->max_actions, "preventive actions per machine at most (0 = no limit)")->capture_default_str();
  plan->add_option("--seed", args->seed, "base seed")->capture_default_str();
  plan->add_option("--threads", args->threads, "worker threads (0 = all cores)")->capture_default_str();
  plan->add_option("--json", args->json, "write the plan and the comparison as JSON to this file ('-': stdout, no tables)");
  plan->add_option("--scenario-out", args->scenario_out, "write the plan as a scenario for `twin simulate --scenario`");
  plan->add_option("--from-store", args->from_store, "plan from the wear states read from this telemetry store (`twin ingest`)");
  plan->callback([args] { exit_code() = run_plan(*args); });
}

}  // namespace officina::cli
