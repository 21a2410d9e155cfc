#include "twin/maintenance_planner.h"

#include <coin/Cbc_C_Interface.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

#include "twin/plant.h"

namespace officina::twin {

namespace {

constexpr double kMaxPlanVariables = 2e6;

bool valid_cost(double c) { return std::isfinite(c) && c >= 0; }

// One arc of a machine's path: renew at node i, next renewal at node j.
struct Arc {
  int machine;
  int from;
  int to;
  double cost;
};

double arc_cost(const PlanProblem& p, const PlanMachine& m, size_t i, size_t j) {
  const size_t w = p.windows.size();
  return m.segment(w, i, j) + (j <= w ? m.pm_cost[j - 1] : 0.0);
}

struct CbcDeleter {
  void operator()(Cbc_Model* m) const { Cbc_deleteModel(m); }
};

}  // namespace

Result<void> validate_plan_problem(const PlanProblem& p) {
  if (!(p.horizon > 0) || !std::isfinite(p.horizon)) return fail("plan: horizon must be > 0 (got {})", p.horizon);
  if (p.horizon > kMaxHorizon) return fail("plan: horizon of {:.0f} days is beyond the ten-year limit", p.horizon / 86400);
  if (p.crews < 1) return fail("plan: crews must be >= 1 (got {}); a plan needs someone to do the work", p.crews);
  if (p.max_actions < 0) return fail("plan: max_actions must be >= 0 (0 = no limit), got {}", p.max_actions);
  if (p.machines.empty()) return fail("plan: no machines to plan");
  if (p.windows.empty()) return fail("plan: no candidate maintenance windows in the horizon");
  const size_t w = p.windows.size();
  // One binary per machine and pair of nodes: keep the MILP to a size CBC
  // solves in seconds.
  const double variables = static_cast<double>(p.machines.size()) * static_cast<double>(w + 1) * static_cast<double>(w + 2) / 2;
  if (variables > kMaxPlanVariables) {
    return fail("plan: {} machines x {} windows make {:.3g} variables (at most {:.0g}); use longer windows or a shorter horizon",
                p.machines.size(), w, variables, kMaxPlanVariables);
  }
  for (size_t k = 0; k < w; ++k) {
    const PlanWindow& win = p.windows[k];
    if (!std::isfinite(win.start) || !std::isfinite(win.end) || win.start < 0 || win.end <= win.start || win.start >= p.horizon) {
      return fail("plan: windows[{}]: must satisfy 0 <= start < end and start < horizon (got start {}, end {})", k, win.start, win.end);
    }
    if (k > 0 && win.start < p.windows[k - 1].end) {
      return fail("plan: windows[{}]: starts before windows[{}] ends; windows must be ascending and disjoint", k, k - 1);
    }
  }
  for (size_t m = 0; m < p.machines.size(); ++m) {
    const PlanMachine& pm = p.machines[m];
    const std::string where = fmt::format("plan: machines[{}] ({})", m, pm.name);
    if (pm.name.empty()) return fail("plan: machines[{}]: name is empty", m);
    if (pm.pm_cost.size() != w) return fail("{}: pm_cost has {} entries, expected one per window ({})", where, pm.pm_cost.size(), w);
    for (size_t k = 0; k < w; ++k) {
      if (!valid_cost(pm.pm_cost[k])) return fail("{}: pm_cost[{}] = {}: costs must be finite and >= 0", where, k, pm.pm_cost[k]);
    }
    if (pm.segment_cost.size() != (w + 1) * (w + 2)) {
      return fail("{}: segment_cost has {} entries, expected (W + 1) * (W + 2) = {}", where, pm.segment_cost.size(), (w + 1) * (w + 2));
    }
    for (size_t i = 0; i <= w; ++i) {
      for (size_t j = i + 1; j <= w + 1; ++j) {
        double c = pm.segment(w, i, j);
        if (!valid_cost(c)) return fail("{}: segment_cost({}, {}) = {}: costs must be finite and >= 0", where, i, j, c);
      }
    }
  }
  return {};
}

MaintenancePlan evaluate_plan(const PlanProblem& p, const std::vector<std::vector<int>>& choice) {
  const size_t w = p.windows.size();
  MaintenancePlan plan;
  for (size_t m = 0; m < p.machines.size(); ++m) {
    const PlanMachine& pm = p.machines[m];
    MachinePlan mp;
    mp.name = pm.name;
    mp.windows = choice[m];
    size_t node = 0;
    for (int k : mp.windows) {
      mp.expected_cost += arc_cost(p, pm, node, static_cast<size_t>(k) + 1);
      mp.preventive_cost += pm.pm_cost[static_cast<size_t>(k)];
      node = static_cast<size_t>(k) + 1;
    }
    mp.expected_cost += arc_cost(p, pm, node, w + 1);
    plan.expected_cost += mp.expected_cost;
    plan.machines.push_back(std::move(mp));
  }
  return plan;
}

Result<MaintenancePlan> solve_plan(const PlanProblem& p, const PlanSolveOptions& options) {
  OFFICINA_CHECK(validate_plan_problem(p));
  const int w = static_cast<int>(p.windows.size());
  std::vector<Arc> arcs;
  for (size_t m = 0; m < p.machines.size(); ++m) {
    for (int i = 0; i <= w; ++i) {
      for (int j = i + 1; j <= w + 1; ++j) arcs.push_back({static_cast<int>(m), i, j, arc_cost(p, p.machines[m], i, j)});
    }
  }
  std::unique_ptr<Cbc_Model, CbcDeleter> model(Cbc_newModel());
  Cbc_setLogLevel(model.get(), 0);
  Cbc_setMaximumSeconds(model.get(), options.time_limit_s);
  // Single-threaded and no randomised restarts: the same problem gives the same plan.
  Cbc_setParameter(model.get(), "threads", "0");
  for (const Arc& a : arcs) Cbc_addCol(model.get(), "", 0.0, 1.0, a.cost, 1, 0, nullptr, nullptr);
  Cbc_setObjSense(model.get(), 1);

  // Arcs into and out of each node, per machine, so every row is built
  // without scanning the whole arc list.
  const size_t nodes = static_cast<size_t>(w) + 2;
  std::vector<std::vector<int>> into(p.machines.size() * nodes), out_of(p.machines.size() * nodes);
  for (size_t a = 0; a < arcs.size(); ++a) {
    into[arcs[a].machine * nodes + arcs[a].to].push_back(static_cast<int>(a));
    out_of[arcs[a].machine * nodes + arcs[a].from].push_back(static_cast<int>(a));
  }
  std::vector<int> cols;
  std::vector<double> coefs;
  auto take = [&](const std::vector<int>& list, double coef) {
    for (int a : list) cols.push_back(a), coefs.push_back(coef);
  };
  auto add_row = [&](char sense, double rhs) {
    Cbc_addRow(model.get(), "", static_cast<int>(cols.size()), cols.data(), coefs.data(), sense, rhs);
    cols.clear();
    coefs.clear();
  };
  for (size_t m = 0; m < p.machines.size(); ++m) {
    take(out_of[m * nodes], 1);
    add_row('E', 1);  // leaves "now" exactly once
    for (int k = 1; k <= w; ++k) {
      take(into[m * nodes + k], 1);
      take(out_of[m * nodes + k], -1);
      add_row('E', 0);  // flow conservation at window k
    }
    if (p.max_actions > 0) {
      for (int k = 1; k <= w; ++k) take(into[m * nodes + k], 1);
      add_row('L', p.max_actions);
    }
  }
  for (int k = 1; k <= w; ++k) {
    for (size_t m = 0; m < p.machines.size(); ++m) take(into[m * nodes + k], 1);
    add_row('L', p.crews);  // crew capacity of window k
  }

  Cbc_solve(model.get());
  const double* x = Cbc_getColSolution(model.get());
  const bool optimal = Cbc_isProvenOptimal(model.get());
  if (!x || Cbc_isProvenInfeasible(model.get()) || Cbc_numberPrimalInfeasibilities(model.get()) > 0) {
    return fail("plan: CBC found no feasible plan (status {}, secondary {})", Cbc_status(model.get()), Cbc_secondaryStatus(model.get()));
  }
  std::vector<std::vector<int>> choice(p.machines.size());
  for (size_t a = 0; a < arcs.size(); ++a) {
    if (x[a] > 0.5 && arcs[a].to <= w) choice[arcs[a].machine].push_back(arcs[a].to - 1);
  }
  for (auto& c : choice) std::sort(c.begin(), c.end());
  MaintenancePlan plan = evaluate_plan(p, choice);
  plan.solver = "cbc";
  plan.nodes = Cbc_getNodeCount(model.get());
  if (optimal) plan.status = "optimal";
  else if (Cbc_isSecondsLimitReached(model.get())) plan.status = "time limit: best plan found, optimality not proven";
  else plan.status = fmt::format("stopped (CBC status {}, secondary {}): best plan found", Cbc_status(model.get()), Cbc_secondaryStatus(model.get()));
  return plan;
}

Result<MaintenancePlan> solve_plan_brute_force(const PlanProblem& p) {
  OFFICINA_CHECK(validate_plan_problem(p));
  const size_t w = p.windows.size();
  const size_t n = p.machines.size();
  if (w > 20) return fail("plan: brute force takes at most 20 windows (got {})", w);
  // Every machine's feasible subsets with their cost; a subset is a bitmask of windows.
  struct Option {
    uint32_t mask;
    double cost;
  };
  std::vector<std::vector<Option>> options(n);
  double combinations = 1;
  for (size_t m = 0; m < n; ++m) {
    for (uint32_t mask = 0; mask < (1u << w); ++mask) {
      if (p.max_actions > 0 && std::popcount(mask) > p.max_actions) continue;
      std::vector<std::vector<int>> one(n);
      for (size_t k = 0; k < w; ++k) {
        if (mask >> k & 1u) one[m].push_back(static_cast<int>(k));
      }
      options[m].push_back({mask, evaluate_plan(p, one).machines[m].expected_cost});
    }
    // Cheapest first, so the search below finds good plans early and prunes.
    std::stable_sort(options[m].begin(), options[m].end(), [](const Option& a, const Option& b) { return a.cost < b.cost; });
    combinations *= static_cast<double>(options[m].size());
  }
  if (combinations > 1e7) return fail("plan: brute force refuses {:.3g} combinations (at most 1e7)", combinations);

  // Depth-first over machines with crew counts per window; a partial plan is
  // dropped once it costs at least the best complete one, and since every
  // machine's cheapest option is a lower bound, the remaining minima prune too.
  std::vector<double> rest_min(n + 1, 0.0);
  for (size_t m = n; m-- > 0;) rest_min[m] = rest_min[m + 1] + options[m].front().cost;
  std::vector<int> used(w, 0);
  std::vector<uint32_t> current(n), best_masks(n);
  double best = std::numeric_limits<double>::infinity();
  auto search = [&](auto&& self, size_t m, double cost) -> void {
    if (m == n) {
      if (cost < best) best = cost, best_masks = current;
      return;
    }
    for (const Option& o : options[m]) {
      if (cost + o.cost + rest_min[m + 1] >= best) break;  // sorted: later options cost more
      bool fits = true;
      for (size_t k = 0; k < w; ++k) {
        if ((o.mask >> k & 1u) && used[k] >= p.crews) fits = false;
      }
      if (!fits) continue;
      for (size_t k = 0; k < w; ++k) used[k] += o.mask >> k & 1u;
      current[m] = o.mask;
      self(self, m + 1, cost + o.cost);
      for (size_t k = 0; k < w; ++k) used[k] -= o.mask >> k & 1u;
    }
  };
  search(search, 0, 0.0);
  std::vector<std::vector<int>> choice(n);
  for (size_t m = 0; m < n; ++m) {
    for (size_t k = 0; k < w; ++k) {
      if (best_masks[m] >> k & 1u) choice[m].push_back(static_cast<int>(k));
    }
  }
  MaintenancePlan plan = evaluate_plan(p, choice);
  plan.solver = "brute-force";
  plan.status = "optimal";
  return plan;
}

}  // namespace officina::twin
