// A scenario that switches a machine to the predictive policy names its
// `model` directory relative to the scenario file, as the plant YAML does
// relative to the plant file: the library resolves it, and `twin simulate
// --scenario` looks for the model there (not in the working directory).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include "twin/plant_parser.h"
#include "twin/scenario.h"

namespace officina::twin {
namespace {

const char* kPlant = R"(
name: p
lines:
  - name: l
    machines:
      - name: m
        cycle_time: 100s
        sensors:
          - {name: s, period: 60s, base: 1}
        failure_modes:
          - {name: f, mtbf: 10h, repair_time: 1h}
      - name: n
        cycle_time: 100s
        sensors:
          - {name: s, period: 60s, base: 1}
        maintenance: {policy: predictive, model: plant-model, lead_time: 1h}
)";

const char* kScenario = R"(
name: pred
machines:
  - name: m
    maintenance: {policy: predictive, model: models/oven, lead_time: 2h}
)";

TEST(ScenarioModelPath, RelativeModelResolvesAgainstTheScenarioFile) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("plants"));
  std::filesystem::create_directories(dir.path("scenarios"));
  test::write_file(dir.path("plants/plant.yaml"), kPlant);
  test::write_file(dir.path("scenarios/pred.yaml"), kScenario);
  auto plant = load_plant(dir.path("plants/plant.yaml"));
  ASSERT_TRUE(plant) << plant.error().message;
  auto s = load_scenario(*plant, dir.path("scenarios/pred.yaml"));
  ASSERT_TRUE(s) << s.error().message;
  const Machine& m = s->plant.lines[0].machines[0];
  EXPECT_EQ(m.maintenance.policy, MaintenancePolicy::kPredictive);
  EXPECT_EQ(std::filesystem::path(m.maintenance.model), std::filesystem::path(dir.path("scenarios")) / "models/oven");
  // The base plant's model stays where the plant file put it.
  EXPECT_EQ(std::filesystem::path(s->plant.lines[0].machines[1].maintenance.model),
            std::filesystem::path(dir.path("plants")) / "plant-model");

  // An absolute model directory is kept as written; text without a folder stays as written.
  const std::string absolute = "name: a\nmachines:\n  - name: m\n    maintenance: {policy: predictive, model: /opt/m, lead_time: 2h}\n";
  auto a = apply_scenario(*plant, absolute, "a.yaml", dir.path("scenarios"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->plant.lines[0].machines[0].maintenance.model, "/opt/m");
  auto t = apply_scenario(*plant, kScenario);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->plant.lines[0].machines[0].maintenance.model, "models/oven");
}

TEST(ScenarioModelPath, SimulateLooksForTheModelNextToTheScenario) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("plants"));
  std::filesystem::create_directories(dir.path("scenarios"));
  // The plant itself has no predictive machine, so only the scenario needs a model.
  test::write_file(dir.path("plants/plant.yaml"),
                   "name: p\nlines:\n  - name: l\n    machines:\n      - name: m\n        cycle_time: 100s\n"
                   "        sensors:\n          - {name: s, period: 60s, base: 1}\n");
  test::write_file(dir.path("scenarios/pred.yaml"), kScenario);
  test::Outcome r = test::run_officina("twin simulate " + test::shell_quote(dir.path("plants/plant.yaml")) +
                                       " --horizon 1d -n 2 --scenario " + test::shell_quote(dir.path("scenarios/pred.yaml")));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.err.find(dir.path("scenarios") + "/models/oven"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace officina::twin
