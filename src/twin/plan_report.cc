#include "twin/plan_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "twin/duration.h"

namespace officina::twin {

namespace {

Json estimate_json(const Estimate& e) { return {{"mean", e.mean}, {"lo", e.lo}, {"hi", e.hi}}; }

std::string interval(const Estimate& e, double scale, int decimals) {
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", e.mean * scale, decimals, e.lo * scale, decimals, e.hi * scale, decimals);
}

// One row per action: machine index, window, crew number within the window.
struct Action {
  size_t machine;
  int window;
  int crew;
};

std::vector<Action> actions_of(const PlanStudy& study) {
  std::vector<Action> out;
  for (size_t m = 0; m < study.plan.machines.size(); ++m) {
    for (int w : study.plan.machines[m].windows) out.push_back({m, w, 0});
  }
  std::stable_sort(out.begin(), out.end(), [](const Action& a, const Action& b) { return a.window < b.window; });
  // Crews are numbered within each window in machine order.
  std::map<int, int> taken;
  for (Action& a : out) a.crew = ++taken[a.window];
  return out;
}

std::string hours_or_dash(double seconds) {
  return std::isfinite(seconds) ? fmt::format("{:.0f}", seconds / 3600) : std::string(">horizon");
}

}  // namespace

std::string format_plan_time(double seconds) {
  const long total = std::lround(seconds / 60);
  const long day = total / (24 * 60), minutes = total % (24 * 60);
  return fmt::format("d{} {:02}:{:02}", day + 1, minutes / 60, minutes % 60);
}

Json plan_study_json(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options) {
  const double planned = plant.calendar.planned_before(options.horizon);
  Json plan = Json::array();
  for (const Action& a : actions_of(study)) {
    const PlanWindow& w = study.problem.windows[a.window];
    plan.push_back({{"machine", study.plan.machines[a.machine].name}, {"window_start_s", w.start}, {"window_end_s", w.end},
                    {"window", format_plan_time(w.start) + " - " + format_plan_time(w.end)}, {"in_shift", w.in_shift},
                    {"crew", a.crew}, {"action_cost", study.problem.machines[a.machine].pm_cost[a.window]}});
  }
  Json machines = Json::array();
  for (size_t m = 0; m < study.plan.machines.size(); ++m) {
    const MachinePlan& mp = study.plan.machines[m];
    const MachineForecast& f = study.forecasts[m];
    const double median = f.rul_quantile(0.5);
    machines.push_back({{"name", mp.name}, {"expected_cost", mp.expected_cost}, {"preventive_cost", mp.preventive_cost},
                        {"actions", mp.windows.size()}, {"failure_probability", f.failure_probability(planned)},
                        {"rul_median_h", std::isfinite(median) ? Json(median / 3600) : Json(nullptr)},
                        {"fixed_interval_s", study.fixed_interval[m]}});
  }
  auto policy = [](const PolicyOutcome& p) { return Json{{"name", p.name}, {"cost", estimate_json(p.cost)}, {"oee", estimate_json(p.oee)}}; };
  size_t variables = 0;
  const size_t w = study.problem.windows.size();
  variables = study.problem.machines.size() * (w + 1) * (w + 2) / 2;
  return {{"plant", plant.name},
          {"horizon_s", options.horizon},
          {"window_s", options.window},
          {"crews", study.problem.crews},
          {"replications", options.replications},
          {"seed", options.seed},
          {"solver", {{"name", study.plan.solver}, {"status", study.plan.status}, {"nodes", study.plan.nodes},
                      {"windows", w}, {"variables", variables}}},
          {"expected_cost", study.plan.expected_cost},
          {"plan", plan},
          {"machines", machines},
          {"policies", {{"run_to_failure", policy(study.run_to_failure)}, {"best_fixed_interval", policy(study.best_fixed)},
                        {"plan", policy(study.planned)}}},
          {"difference",
           {{"plan_vs_run_to_failure", {{"cost", estimate_json(study.cost_vs_run_to_failure)}, {"oee", estimate_json(study.oee_vs_run_to_failure)}}},
            {"plan_vs_best_fixed_interval", {{"cost", estimate_json(study.cost_vs_best_fixed)}, {"oee", estimate_json(study.oee_vs_best_fixed)}}}}}};
}

std::string plan_table(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options) {
  std::string out = fmt::format("Maintenance plan — {} over {} (windows of {}, {} crew{}); CBC: {}, expected cost {:.0f}\n",
                                plant.name, format_duration(options.horizon), format_duration(options.window), study.problem.crews,
                                study.problem.crews == 1 ? "" : "s", study.plan.status, study.plan.expected_cost);
  out += fmt::format("{:<24} {:>10} {:>10} {:>6} {:>5} {:>12}\n", "machine", "start", "end", "shift", "crew", "action cost");
  const std::vector<Action> actions = actions_of(study);
  for (const Action& a : actions) {
    const PlanWindow& w = study.problem.windows[a.window];
    out += fmt::format("{:<24} {:>10} {:>10} {:>6} {:>5} {:>12.0f}\n", study.plan.machines[a.machine].name, format_plan_time(w.start),
                       format_plan_time(w.end), w.in_shift ? "in" : "off", a.crew, study.problem.machines[a.machine].pm_cost[a.window]);
  }
  if (actions.empty()) out += "(no preventive action pays off over this horizon)\n";
  const double planned = plant.calendar.planned_before(options.horizon);
  out += fmt::format("\n{:<24} {:>9} {:>13} {:>8} {:>14} {:>14}\n", "machine", "P(fail)", "RUL median h", "actions",
                     "expected cost", "fixed interval");
  for (size_t m = 0; m < study.plan.machines.size(); ++m) {
    const MachinePlan& mp = study.plan.machines[m];
    const MachineForecast& f = study.forecasts[m];
    out += fmt::format("{:<24} {:>9.2f} {:>13} {:>8} {:>14.0f} {:>14}\n", mp.name, f.failure_probability(planned),
                       hours_or_dash(f.rul_quantile(0.5)), mp.windows.size(), mp.expected_cost,
                       study.fixed_interval[m] > 0 ? format_duration(study.fixed_interval[m]) : std::string("none"));
  }
  out += "P(fail): probability of a failure within the horizon without maintenance; RUL in planned (shift) hours.\n";
  return out;
}

std::string comparison_table(const PlanStudy& study) {
  std::string out = fmt::format("Policies simulated over the horizon ({} replications, mean [95% CI])\n", study.planned.cost_runs.size());
  out += fmt::format("{:<34} {:>30} {:>24}\n", "policy", "total cost", "OEE %");
  for (const PolicyOutcome* p : {&study.run_to_failure, &study.best_fixed, &study.planned}) {
    out += fmt::format("{:<34} {:>30} {:>24}\n", p->name, interval(p->cost, 1, 0), interval(p->oee, 100, 2));
  }
  out += fmt::format("{:<34} {:>30} {:>24}\n", "plan - run-to-failure (paired)", interval(study.cost_vs_run_to_failure, 1, 0),
                     interval(study.oee_vs_run_to_failure, 100, 2));
  out += fmt::format("{:<34} {:>30} {:>24}\n", "plan - best fixed interval (paired)", interval(study.cost_vs_best_fixed, 1, 0),
                     interval(study.oee_vs_best_fixed, 100, 2));
  return out;
}

std::string plan_scenario_yaml(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options) {
  std::string out = fmt::format("# Maintenance plan by `officina twin plan` (MILP, CBC: {}) for '{}' over {},\n", study.plan.status,
                                plant.name, format_duration(options.horizon));
  out += "# expected cost " + fmt::format("{:.0f}", study.plan.expected_cost) + ". Replay: officina twin simulate PLANT --scenario THIS_FILE\n";
  out += "name: maintenance-plan\n";
  out += fmt::format("description: MILP plan over {}, run-to-failure otherwise\n", format_duration(options.horizon));
  out += "machines:\n";
  for (size_t m = 0; m < study.forecasts.size(); ++m) {
    const MachineForecast& f = study.forecasts[m];
    // Names go through JSON quoting, which YAML reads as a double-quoted string.
    out += fmt::format("  - name: {}\n    line: {}\n", Json(plant.lines[f.line].machines[f.machine].name).dump(),
                       Json(plant.lines[f.line].name).dump());
    const std::vector<int>& windows = study.plan.machines[m].windows;
    if (windows.empty()) {
      out += "    maintenance: {policy: corrective}\n";
      continue;
    }
    std::string at;
    for (int w : windows) {
      const double start = study.problem.windows[w].start;
      // Whole hours read better; anything else stays exact in seconds.
      at += (at.empty() ? "" : ", ") + (std::fmod(start, 3600) == 0 ? fmt::format("{:.0f}h", start / 3600) : fmt::format("{}", start));
    }
    out += "    maintenance: {policy: scheduled, at: [" + at + "]}\n";
  }
  return out;
}

}  // namespace officina::twin
