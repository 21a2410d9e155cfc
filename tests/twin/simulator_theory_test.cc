// The simulator against queueing and reliability theory: each theoretical
// value must lie inside the 95% confidence interval of replicated runs (fixed
// seeds, so the tests are deterministic) and close to the estimate.
#include <cmath>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "twin/plant_parser.h"
#include "twin/replication_runner.h"

namespace officina::twin {
namespace {

RunSummary replicate(const std::string& yaml, double horizon, double warmup, int replications, uint64_t seed) {
  auto plant = parse_plant(yaml, "test");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  ThreadPool pool(1);
  ReplicationOptions o;
  o.simulation.horizon = horizon;
  o.simulation.warmup = warmup;
  o.simulation.seed = seed;
  o.replications = replications;
  auto set = run_replications(*plant, o, pool);
  EXPECT_TRUE(set.has_value()) << set.error().message;
  return set->summary;
}

void expect_inside(const Estimate& e, double theory, double relative) {
  EXPECT_LE(e.lo, theory) << "mean " << e.mean << " CI [" << e.lo << ", " << e.hi << "]";
  EXPECT_GE(e.hi, theory) << "mean " << e.mean << " CI [" << e.lo << ", " << e.hi << "]";
  EXPECT_NEAR(e.mean, theory, relative * theory);
}

TEST(SimulatorTheory, AvailabilityOfExponentialFailuresIsMtbfOverMtbfPlusMttr) {
  const std::string yaml = R"(
lines:
  - name: L
    machines:
      - name: m
        kind: press
        cycle_time: 10m
        failure_modes:
          - name: f
            mtbf: 10h
            repair_time: {dist: exponential, mean: 2h}
)";
  RunSummary s = replicate(yaml, 3000 * 3600.0, 0, 20, 7);
  const Estimate* a = s.lines[0].machines[0].kpis.find("availability");
  ASSERT_NE(a, nullptr);
  expect_inside(*a, 10.0 / 12.0, 0.01);
  // Every processed part is good and the machine never waits: OEE = A.
  EXPECT_NEAR(s.lines[0].machines[0].kpis.find("oee")->mean, a->mean, 0.01);
}

TEST(SimulatorTheory, AvailabilityHoldsForWeibullFailuresAndLognormalRepairs) {
  // A renewal-reward result: A = MTBF / (MTBF + MTTR) for any distributions.
  const std::string yaml = R"(
lines:
  - name: L
    machines:
      - name: m
        cycle_time: 10m
        failure_modes:
          - name: f
            time_to_failure: {dist: weibull, shape: 2.5, mean: 8h}
            repair_time: {dist: lognormal, mean: 1h, sd: 40m}
)";
  RunSummary s = replicate(yaml, 3000 * 3600.0, 0, 20, 11);
  expect_inside(*s.lines[0].machines[0].kpis.find("availability"), 8.0 / 9.0, 0.01);
}

TEST(SimulatorTheory, MM1MeanWaitInQueue) {
  // lambda = 42/h, mu = 60/h: rho = 0.7, Wq = rho / (mu - lambda) = 140 s,
  // L = rho / (1 - rho), W = 1 / (mu - lambda) = 200 s.
  const std::string yaml = R"(
lines:
  - name: L
    demand: {rate_per_hour: 42}
    machines:
      - name: server
        cycle_time: {dist: exponential, mean: 1m}
)";
  RunSummary s = replicate(yaml, 2000 * 3600.0, 20 * 3600.0, 20, 3);
  expect_inside(*s.lines[0].machines[0].kpis.find("wait"), 140.0, 0.04);
  expect_inside(*s.lines[0].kpis.find("lead_time"), 200.0, 0.04);
  expect_inside(*s.lines[0].kpis.find("wip"), 0.7 / 0.3, 0.04);
  expect_inside(*s.lines[0].machines[0].kpis.find("utilization"), 0.7, 0.01);
}

// The exact throughput of a two-machine exponential line with a buffer of B
// parts, time-dependent failures and enough crews, from the stationary
// distribution of its CTMC. A state is (M1 up, M2 up, parts in the buffer,
// M2 holds a part, M1 blocked holding a finished part). As in the simulator,
// a machine that is down does not load a part, so M2 can be down and empty
// while parts wait in the buffer.
struct LineState2 {
  int u1, u2, b, h2, blk;
  auto operator<=>(const LineState2&) const = default;
};

double two_machine_throughput(double mu1, double mu2, double f1, double r1, double f2, double r2, int B) {
  auto settle = [&](LineState2 s) {
    if (s.u2 && !s.h2 && s.b > 0) s.h2 = 1, --s.b;
    if (s.blk && s.b < B) s.blk = 0, ++s.b;
    return s;
  };
  std::map<LineState2, int> index;
  std::vector<LineState2> states;
  std::vector<std::tuple<int, LineState2, double>> moves;  // from, to, rate
  std::vector<LineState2> todo = {LineState2{1, 1, 0, 0, 0}};
  index[todo[0]] = 0;
  states.push_back(todo[0]);
  while (!todo.empty()) {
    LineState2 s = todo.back();
    todo.pop_back();
    int from = index[s];
    auto add = [&](LineState2 t, double rate) {
      t = settle(t);
      if (!index.count(t)) {
        index[t] = static_cast<int>(states.size());
        states.push_back(t);
        todo.push_back(t);
      }
      moves.emplace_back(from, t, rate);
    };
    if (s.u1 && !s.blk) {
      LineState2 t = s;
      if (t.b < B) ++t.b; else t.blk = 1;
      add(t, mu1);
    }
    if (s.u2 && s.h2) {
      LineState2 t = s;
      t.h2 = 0;
      add(t, mu2);
    }
    LineState2 t1 = s;
    t1.u1 = 1 - s.u1;
    add(t1, s.u1 ? f1 : r1);
    LineState2 t2 = s;
    t2.u2 = 1 - s.u2;
    add(t2, s.u2 ? f2 : r2);
  }
  const int n = static_cast<int>(states.size());
  // Solve pi Q = 0 with sum(pi) = 1: Q transposed, the last row replaced.
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));
  for (auto& [from, to_state, rate] : moves) {
    int to = index[to_state];
    a[to][from] += rate;
    a[from][from] -= rate;
  }
  for (int j = 0; j < n; ++j) a[n - 1][j] = 1;
  a[n - 1][n] = 1;
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    }
    std::swap(a[c], a[pivot]);
    for (int r = 0; r < n; ++r) {
      if (r == c || a[r][c] == 0) continue;
      double k = a[r][c] / a[c][c];
      for (int j = c; j <= n; ++j) a[r][j] -= k * a[c][j];
    }
  }
  double throughput = 0;
  for (int i = 0; i < n; ++i) {
    if (states[i].u2 && states[i].h2) throughput += mu2 * a[i][n] / a[i][i];
  }
  return throughput;
}

TEST(SimulatorTheory, TwoMachineLineMatchesExactMarkovChain) {
  // Rates per hour: M1 60 (1 min), M2 ~65.5 (55 s); M1 fails every 2 h and
  // takes 20 min to repair, M2 every 3 h and 30 min; buffer of 3.
  const std::string yaml = R"(
crews: 2
lines:
  - name: L
    buffer_capacity: 3
    machines:
      - name: m1
        cycle_time: {dist: exponential, mean: 60s}
        failure_modes:
          - {name: f, mtbf: 2h, repair_time: {dist: exponential, mean: 20m}}
      - name: m2
        cycle_time: {dist: exponential, mean: 55s}
        failure_modes:
          - {name: f, mtbf: 3h, repair_time: {dist: exponential, mean: 30m}}
)";
  const double theory = two_machine_throughput(60, 3600.0 / 55, 0.5, 3, 1.0 / 3, 2, 3);
  // Sanity check of the chain itself: below both isolated machines' rates.
  EXPECT_LT(theory, 60 * 2.0 / 2.333);
  RunSummary s = replicate(yaml, 1500 * 3600.0, 10 * 3600.0, 30, 1);
  expect_inside(*s.lines[0].kpis.find("throughput"), theory, 0.01);
}

TEST(SimulatorTheory, TwoMachineChainReducesToTheSlowerMachineWithAHugeBuffer) {
  // A check of the chain itself: almost no failures and a huge buffer leave
  // the line running at the slower machine's rate.
  double big = two_machine_throughput(60, 50, 1e-9, 1e9, 1e-9, 1e9, 80);
  EXPECT_NEAR(big, 50, 1e-3);
}

}  // namespace
}  // namespace officina::twin
