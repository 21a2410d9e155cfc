// Independent replications of a simulation on officina's ThreadPool, and
// their summary: mean and 95% CI of every KPI per line and machine.
// Replication r runs with replication_seed(seed, r), whatever thread runs it,
// so results do not depend on the thread count; a scenario run with the same
// seed reuses the same streams (common random numbers), which is what makes
// summarize_difference's paired intervals narrow.
// Thread-safety: run_replications uses the pool it is given; call it from one
// thread at a time per pool. The progress callback is called under a lock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "twin/kpi.h"
#include "twin/plant.h"
#include "twin/simulator.h"
#include "twin/statistics.h"

namespace officina::twin {

struct EstimateSet {
  std::vector<std::pair<std::string, Estimate>> items;
  // nullptr when absent.
  const Estimate* find(std::string_view name) const {
    for (const auto& [n, e] : items) {
      if (n == name) return &e;
    }
    return nullptr;
  }
};

struct MachineSummary {
  std::string name;
  EstimateSet kpis;
};

struct LineSummary {
  std::string name;
  EstimateSet kpis;
  std::vector<MachineSummary> machines;
};

struct RunSummary {
  std::vector<LineSummary> lines;
  int replications = 0;
  uint64_t events = 0;             // over all replications
  double events_per_second = 0;    // events / summed single-thread simulation time
};

struct ReplicationOptions {
  SimulationOptions simulation;  // its seed is the base seed
  int replications = 10;
  std::function<void(int done, int total)> progress;  // optional
};

struct ReplicationSet {
  std::vector<RunKpis> runs;  // index r = replication r
  RunSummary summary;
  double elapsed_seconds = 0;  // wall-clock time of the whole set
};

// Fails on replications outside [1, 100000] or on simulate()'s errors.
Result<ReplicationSet> run_replications(const Plant& plant, const ReplicationOptions& options, ThreadPool& pool);

RunSummary summarize(const std::vector<RunKpis>& runs);
// Per replication r: scenario[r] - baseline[r], summarised (paired by seed).
// KPIs are matched by line, machine and KPI name; unmatched ones are left out.
RunSummary summarize_difference(const std::vector<RunKpis>& scenario, const std::vector<RunKpis>& baseline);

}  // namespace officina::twin
