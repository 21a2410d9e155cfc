#include "twin/replication_runner.h"

#include <chrono>
#include <mutex>
#include <optional>

#include "twin/random_streams.h"

namespace officina::twin {

namespace {

// Collects KPI values across runs for one line or machine, name by name.
// `get(r, name)` returns replication r's value, or nullopt when missing.
template <class Get>
EstimateSet summarize_set(const KpiSet& shape, size_t runs, Get get) {
  EstimateSet out;
  std::vector<double> values;
  for (const auto& [name, unused] : shape.items) {
    values.clear();
    for (size_t r = 0; r < runs; ++r) {
      std::optional<double> v = get(r, name);
      if (!v) break;
      values.push_back(*v);
    }
    if (values.size() == runs) out.items.emplace_back(name, estimate(values));
  }
  return out;
}

std::optional<double> value_of(const KpiSet& set, const std::string& name) {
  for (const auto& [n, v] : set.items) {
    if (n == name) return v;
  }
  return std::nullopt;
}

const LineKpis* find_line(const RunKpis& run, const std::string& name) {
  for (const LineKpis& l : run.lines) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const MachineKpis* find_machine(const LineKpis* line, const std::string& name) {
  if (!line) return nullptr;
  for (const MachineKpis& m : line->machines) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// A shared core: value(r, line, machine-or-null, kpi).
template <class Value>
RunSummary summarize_with(const std::vector<RunKpis>& runs, Value value) {
  RunSummary out;
  out.replications = static_cast<int>(runs.size());
  if (runs.empty()) return out;
  double seconds = 0;
  for (const RunKpis& r : runs) {
    out.events += r.events;
    seconds += r.wall_seconds;
  }
  out.events_per_second = seconds > 0 ? out.events / seconds : 0;
  for (const LineKpis& line : runs[0].lines) {
    LineSummary ls;
    ls.name = line.name;
    ls.kpis = summarize_set(line.kpis, runs.size(), [&](size_t r, const std::string& kpi) {
      return value(r, line.name, nullptr, kpi);
    });
    for (const MachineKpis& m : line.machines) {
      MachineSummary ms;
      ms.name = m.name;
      ms.kpis = summarize_set(m.kpis, runs.size(), [&](size_t r, const std::string& kpi) {
        return value(r, line.name, &m.name, kpi);
      });
      ls.machines.push_back(std::move(ms));
    }
    out.lines.push_back(std::move(ls));
  }
  return out;
}

std::optional<double> lookup(const RunKpis& run, const std::string& line, const std::string* machine,
                             const std::string& kpi) {
  const LineKpis* l = find_line(run, line);
  if (!l) return std::nullopt;
  if (!machine) return value_of(l->kpis, kpi);
  const MachineKpis* m = find_machine(l, *machine);
  return m ? value_of(m->kpis, kpi) : std::nullopt;
}

}  // namespace

RunSummary summarize(const std::vector<RunKpis>& runs) {
  return summarize_with(runs, [&](size_t r, const std::string& line, const std::string* machine, const std::string& kpi) {
    return lookup(runs[r], line, machine, kpi);
  });
}

RunSummary summarize_difference(const std::vector<RunKpis>& scenario, const std::vector<RunKpis>& baseline) {
  const size_t n = std::min(scenario.size(), baseline.size());
  std::vector<RunKpis> paired(scenario.begin(), scenario.begin() + n);
  RunSummary out = summarize_with(paired, [&](size_t r, const std::string& line, const std::string* machine,
                                               const std::string& kpi) -> std::optional<double> {
    auto a = lookup(scenario[r], line, machine, kpi);
    auto b = lookup(baseline[r], line, machine, kpi);
    if (!a || !b) return std::nullopt;
    return *a - *b;
  });
  return out;
}

Result<ReplicationSet> run_replications(const Plant& plant, const ReplicationOptions& options, ThreadPool& pool) {
  if (options.replications < 1 || options.replications > 100000) {
    return fail("replications: {} is out of range (1 to 100000)", options.replications);
  }
  auto started = std::chrono::steady_clock::now();
  const int n = options.replications;
  std::vector<std::optional<Result<SimulationResult>>> results(n);
  std::mutex mutex;
  int done = 0;
  pool.run(n, [&](int64_t r, int) {
    SimulationOptions sim = options.simulation;
    sim.seed = replication_seed(options.simulation.seed, static_cast<uint64_t>(r));
    sim.record_sensors = false;
    results[r] = simulate(plant, sim);
    if (options.progress) {
      std::lock_guard lock(mutex);
      options.progress(++done, n);
    }
  });
  ReplicationSet set;
  set.runs.reserve(n);
  for (auto& r : results) {
    if (!*r) return std::unexpected((*r).error());
    set.runs.push_back(std::move((*r)->kpis));
  }
  set.summary = summarize(set.runs);
  set.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return set;
}

}  // namespace officina::twin
