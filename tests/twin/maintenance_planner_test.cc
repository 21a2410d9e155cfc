// The maintenance-plan MILP against brute force on random small instances,
// its constraints (crews per window, actions per machine), and bad problems.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twin/maintenance_planner.h"

namespace officina::twin {
namespace {

// A random instance shaped like a real one: failure costs grow with the
// length of a segment (convex, so maintenance pays off somewhere), with
// noise so that ties are rare; preventive costs vary by window (in shift
// expensive, off shift cheap).
PlanProblem random_problem(std::mt19937_64& rng, int machines, int windows, int crews) {
  std::uniform_real_distribution<double> u(0, 1);
  PlanProblem p;
  p.horizon = (windows + 1) * 8 * 3600.0;
  p.crews = crews;
  for (int k = 0; k < windows; ++k) p.windows.push_back({k * 8 * 3600.0, (k + 1) * 8 * 3600.0, k % 3 != 2});
  const size_t w = p.windows.size();
  for (int m = 0; m < machines; ++m) {
    PlanMachine pm;
    pm.name = "m" + std::to_string(m);
    for (size_t k = 0; k < w; ++k) pm.pm_cost.push_back(p.windows[k].in_shift ? 200 + 400 * u(rng) : 50 + 100 * u(rng));
    const double scale = 20 + 200 * u(rng);
    const double head_start = 2 * u(rng);  // the current state may be worn
    pm.segment_cost.assign((w + 1) * (w + 2), 0.0);
    for (size_t i = 0; i <= w; ++i) {
      for (size_t j = i + 1; j <= w + 1; ++j) {
        double len = static_cast<double>(j - i) + (i == 0 ? head_start : 0);
        pm.segment_cost[i * (w + 2) + j] = scale * len * len * (0.8 + 0.4 * u(rng));
      }
    }
    p.machines.push_back(std::move(pm));
  }
  return p;
}

void expect_feasible(const PlanProblem& p, const MaintenancePlan& plan) {
  std::vector<int> used(p.windows.size(), 0);
  ASSERT_EQ(plan.machines.size(), p.machines.size());
  for (const MachinePlan& m : plan.machines) {
    for (size_t i = 0; i < m.windows.size(); ++i) {
      ASSERT_GE(m.windows[i], 0);
      ASSERT_LT(m.windows[i], static_cast<int>(p.windows.size()));
      if (i > 0) {
        EXPECT_LT(m.windows[i - 1], m.windows[i]);
      }
      ++used[m.windows[i]];
    }
    if (p.max_actions > 0) {
      EXPECT_LE(static_cast<int>(m.windows.size()), p.max_actions);
    }
  }
  for (size_t k = 0; k < used.size(); ++k) EXPECT_LE(used[k], p.crews) << "window " << k;
}

TEST(MaintenancePlanner, MilpEqualsBruteForceOnRandomSmallInstances) {
  std::mt19937_64 rng(20261207);
  int with_actions = 0, crew_bound = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int machines = 1 + trial % 3, windows = 2 + trial % 5, crews = 1 + trial % 2;
    PlanProblem p = random_problem(rng, machines, windows, crews);
    p.max_actions = trial % 4 == 3 ? 1 : 0;
    auto milp = solve_plan(p);
    auto brute = solve_plan_brute_force(p);
    ASSERT_TRUE(milp.has_value()) << milp.error().message;
    ASSERT_TRUE(brute.has_value()) << brute.error().message;
    EXPECT_EQ(milp->status, "optimal");
    EXPECT_NEAR(milp->expected_cost, brute->expected_cost, 1e-6 * std::max(1.0, brute->expected_cost)) << "trial " << trial;
    // The plan's cost is what evaluate_plan says of its own choice.
    std::vector<std::vector<int>> choice;
    for (const MachinePlan& m : milp->machines) choice.push_back(m.windows);
    EXPECT_NEAR(evaluate_plan(p, choice).expected_cost, milp->expected_cost, 1e-6 * std::max(1.0, milp->expected_cost));
    expect_feasible(p, *milp);
    expect_feasible(p, *brute);
    for (const MachinePlan& m : milp->machines) with_actions += !m.windows.empty();
    // Count instances where the crews actually bind: unconstrained optimum infeasible.
    PlanProblem loose = p;
    loose.crews = machines;
    auto free_plan = solve_plan_brute_force(loose);
    ASSERT_TRUE(free_plan.has_value());
    crew_bound += free_plan->expected_cost < brute->expected_cost - 1e-9;
  }
  // The instances exercise the interesting cases, not just "do nothing".
  EXPECT_GT(with_actions, 30);
  EXPECT_GT(crew_bound, 0);
}

TEST(MaintenancePlanner, CrewLimitIsRespectedWhenEveryoneWantsTheSameWindow) {
  // Four machines, one cheap window each would take; one crew.
  PlanProblem p;
  p.horizon = 3 * 3600.0;
  p.crews = 1;
  p.windows = {{0, 3600, true}, {3600, 7200, false}, {7200, 10800, true}};
  const size_t w = 3;
  for (int m = 0; m < 4; ++m) {
    PlanMachine pm;
    pm.name = "m" + std::to_string(m);
    pm.pm_cost = {500, 10, 500};
    pm.segment_cost.assign((w + 1) * (w + 2), 0.0);
    for (size_t i = 0; i <= w; ++i) {
      for (size_t j = i + 1; j <= w + 1; ++j) pm.segment_cost[i * (w + 2) + j] = (j - i) * (j - i) * 100.0 * (m + 1);
    }
    p.machines.push_back(std::move(pm));
  }
  auto plan = solve_plan(p);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  expect_feasible(p, *plan);
  int in_cheap = 0;
  for (const MachinePlan& m : plan->machines) in_cheap += std::count(m.windows.begin(), m.windows.end(), 1);
  EXPECT_EQ(in_cheap, 1);
  auto brute = solve_plan_brute_force(p);
  ASSERT_TRUE(brute.has_value());
  EXPECT_NEAR(plan->expected_cost, brute->expected_cost, 1e-6);
  p.crews = 4;
  auto roomy = solve_plan(p);
  ASSERT_TRUE(roomy.has_value());
  EXPECT_LT(roomy->expected_cost, plan->expected_cost);
}

TEST(MaintenancePlanner, SolverIsDeterministic) {
  std::mt19937_64 rng(7);
  PlanProblem p = random_problem(rng, 5, 12, 2);
  auto a = solve_plan(p), b = solve_plan(p);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->expected_cost, b->expected_cost);
  for (size_t m = 0; m < a->machines.size(); ++m) EXPECT_EQ(a->machines[m].windows, b->machines[m].windows);
}

void expect_error(const PlanProblem& p, const std::string& needle) {
  auto milp = solve_plan(p);
  ASSERT_FALSE(milp.has_value()) << "expected an error about " << needle;
  EXPECT_NE(milp.error().message.find(needle), std::string::npos) << milp.error().message;
  auto brute = solve_plan_brute_force(p);
  ASSERT_FALSE(brute.has_value());
  EXPECT_EQ(brute.error().message, milp.error().message);
}

TEST(MaintenancePlanner, BadProblemsGetClearErrors) {
  std::mt19937_64 rng(3);
  const PlanProblem good = random_problem(rng, 2, 3, 1);
  ASSERT_TRUE(solve_plan(good).has_value());

  PlanProblem p = good;
  p.machines.clear();
  expect_error(p, "no machines to plan");
  p = good;
  p.windows.clear();
  expect_error(p, "no candidate maintenance windows");
  p = good;
  p.horizon = 0;
  expect_error(p, "horizon must be > 0");
  p = good;
  p.horizon = 20 * 366 * 86400.0;
  expect_error(p, "ten-year limit");
  p = good;
  p.crews = 0;
  expect_error(p, "crews must be >= 1");
  p = good;
  p.machines[1].pm_cost[2] = -5;
  expect_error(p, "machines[1] (m1): pm_cost[2] = -5: costs must be finite and >= 0");
  p = good;
  p.machines[0].segment_cost[1] = NAN;
  expect_error(p, "segment_cost(0, 1)");
  p = good;
  p.machines[0].pm_cost.pop_back();
  expect_error(p, "pm_cost has 2 entries, expected one per window (3)");
  p = good;
  std::swap(p.windows[0], p.windows[1]);
  expect_error(p, "windows[1]: starts before windows[0] ends");
  p = good;
  p.windows[2].start = p.horizon;
  p.windows[2].end = p.horizon + 1;
  expect_error(p, "windows[2]");
  p = good;
  p.machines[0].name.clear();
  expect_error(p, "machines[0]: name is empty");
  p = good;
  p.windows.clear();
  for (int k = 0; k < 1500; ++k) p.windows.push_back({k * 60.0, (k + 1) * 60.0, false});
  p.horizon = 1500 * 60.0;
  expect_error(p, "use longer windows or a shorter horizon");
}

TEST(MaintenancePlanner, BruteForceRefusesLargeInstances) {
  std::mt19937_64 rng(1);
  PlanProblem p = random_problem(rng, 1, 21, 1);
  auto brute = solve_plan_brute_force(p);
  ASSERT_FALSE(brute.has_value());
  EXPECT_NE(brute.error().message.find("at most 20 windows"), std::string::npos);
  EXPECT_TRUE(solve_plan(p).has_value());  // the MILP has no such limit
}

}  // namespace
}  // namespace officina::twin
