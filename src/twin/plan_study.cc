#include "twin/plan_study.h"

#include <cmath>

#include "twin/replication_runner.h"

namespace officina::twin {

namespace {

Result<std::vector<RunKpis>> replicate(const Plant& plant, const PlanStudyOptions& o, int replications, ThreadPool& pool) {
  ReplicationOptions ro;
  ro.simulation.horizon = o.horizon;
  ro.simulation.seed = o.seed;
  ro.replications = replications;
  OFFICINA_TRY(ReplicationSet set, run_replications(plant, ro, pool));
  return std::move(set.runs);
}

double machine_cost(const KpiSet& k) { return k.get("maintenance_cost") + k.get("downtime_cost") + k.get("scrap_cost"); }

PolicyOutcome outcome(std::string name, const std::vector<RunKpis>& runs) {
  PolicyOutcome out;
  out.name = std::move(name);
  for (const RunKpis& run : runs) {
    double cost = 0, oee = 0;
    for (const LineKpis& line : run.lines) {
      cost += line.kpis.get("total_cost");
      oee += line.kpis.get("oee") / static_cast<double>(run.lines.size());
    }
    out.cost_runs.push_back(cost);
    out.oee_runs.push_back(oee);
  }
  out.cost = estimate(out.cost_runs);
  out.oee = estimate(out.oee_runs);
  return out;
}

Estimate paired(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (size_t r = 0; r < a.size(); ++r) d[r] = a[r] - b[r];
  return estimate(d);
}

Plant with_intervals(const Plant& base, const std::vector<double>& interval) {
  Plant p = base;
  size_t index = 0;
  for (Line& line : p.lines) {
    for (Machine& m : line.machines) {
      if (interval[index] > 0) {
        m.maintenance.policy = MaintenancePolicy::kPreventive;
        m.maintenance.interval = interval[index];
      }
      ++index;
    }
  }
  return p;
}

}  // namespace

Plant run_to_failure_plant(const Plant& plant) {
  Plant p = plant;
  for (Line& line : p.lines) {
    for (Machine& m : line.machines) {
      m.maintenance.policy = MaintenancePolicy::kCorrective;
      m.maintenance.at.clear();
    }
  }
  return p;
}

Plant planned_plant(const Plant& plant, const PlanStudy& study) {
  Plant p = run_to_failure_plant(plant);
  for (size_t i = 0; i < study.forecasts.size(); ++i) {
    const MachineForecast& f = study.forecasts[i];
    Maintenance& mt = p.lines[f.line].machines[f.machine].maintenance;
    for (int w : study.plan.machines[i].windows) mt.at.push_back(study.problem.windows[w].start);
    if (!mt.at.empty()) mt.policy = MaintenancePolicy::kScheduled;
  }
  return p;
}

Result<PlanStudy> run_plan_study(const Plant& plant, const PlanStudyOptions& o, ThreadPool& pool) {
  if (o.replications < 2 || o.replications > 100000) return fail("--replications: must be in [2, 100000] for intervals (got {})", o.replications);
  if (o.pilot_replications < 1 || o.pilot_replications > 100000) return fail("pilot replications: must be in [1, 100000] (got {})", o.pilot_replications);
  PlanStudy study;
  const Plant rtf = run_to_failure_plant(plant);

  // 1. Loads from a pilot on run-to-failure, seeded apart from the evaluation.
  PlanStudyOptions pilot_options = o;
  pilot_options.seed = o.seed ^ 0x5eed5eedull;
  OFFICINA_TRY(std::vector<RunKpis> pilot, replicate(rtf, pilot_options, o.pilot_replications, pool));
  std::vector<std::vector<double>> loads;
  for (size_t l = 0; l < plant.lines.size(); ++l) {
    for (size_t k = 0; k < plant.lines[l].machines.size(); ++k) {
      std::vector<double> samples;
      for (const RunKpis& run : pilot) {
        samples.push_back(run.lines[l].machines[k].kpis.get("utilization") * plant.lines[l].machines[k].capacity);
      }
      loads.push_back(std::move(samples));
    }
  }

  // 2. Forecasts, problem, MILP.
  ForecastOptions fo{o.horizon, o.forecast_paths, o.seed};
  OFFICINA_TRY(study.forecasts, forecast_failures(plant, fo, loads));
  OFFICINA_TRY(study.problem, build_plan_problem(plant, study.forecasts, PlanBuildOptions{o.horizon, o.window, o.max_actions}));
  OFFICINA_TRY(study.plan, solve_plan(study.problem));

  // 3. The three policies on common random numbers.
  OFFICINA_TRY(std::vector<RunKpis> rtf_runs, replicate(rtf, o, o.replications, pool));
  const size_t machines = study.forecasts.size();
  std::vector<double> best_cost(machines, 0.0);
  study.fixed_interval.assign(machines, 0.0);
  auto mean_machine_costs = [&](const std::vector<RunKpis>& runs) {
    std::vector<double> mean(machines, 0.0);
    for (const RunKpis& run : runs) {
      for (size_t i = 0; i < machines; ++i) {
        const MachineForecast& f = study.forecasts[i];
        mean[i] += machine_cost(run.lines[f.line].machines[f.machine].kpis) / static_cast<double>(runs.size());
      }
    }
    return mean;
  };
  best_cost = mean_machine_costs(rtf_runs);
  for (double interval : o.intervals) {
    if (!(interval > 0) || interval >= o.horizon) continue;
    std::vector<double> every(machines, 0.0);
    for (size_t i = 0; i < machines; ++i) {
      const MachineForecast& f = study.forecasts[i];
      if (!plant.lines[f.line].machines[f.machine].failure_modes.empty()) every[i] = interval;
    }
    OFFICINA_TRY(std::vector<RunKpis> runs, replicate(with_intervals(rtf, every), o, o.replications, pool));
    std::vector<double> cost = mean_machine_costs(runs);
    for (size_t i = 0; i < machines; ++i) {
      if (every[i] > 0 && cost[i] < best_cost[i]) {
        best_cost[i] = cost[i];
        study.fixed_interval[i] = interval;
      }
    }
  }
  OFFICINA_TRY(std::vector<RunKpis> fixed_runs, replicate(with_intervals(rtf, study.fixed_interval), o, o.replications, pool));
  OFFICINA_TRY(std::vector<RunKpis> plan_runs, replicate(planned_plant(plant, study), o, o.replications, pool));

  study.run_to_failure = outcome("run-to-failure", rtf_runs);
  study.best_fixed = outcome("best fixed interval", fixed_runs);
  study.planned = outcome("MILP plan", plan_runs);
  study.cost_vs_run_to_failure = paired(study.planned.cost_runs, study.run_to_failure.cost_runs);
  study.cost_vs_best_fixed = paired(study.planned.cost_runs, study.best_fixed.cost_runs);
  study.oee_vs_run_to_failure = paired(study.planned.oee_runs, study.run_to_failure.oee_runs);
  study.oee_vs_best_fixed = paired(study.planned.oee_runs, study.best_fixed.oee_runs);
  return study;
}

}  // namespace officina::twin
