// Plant YAML: the demo parses, and bad input gets errors naming the path.
#include <string>

#include <gtest/gtest.h>

#include "twin/plant_parser.h"

namespace officina::twin {
namespace {

const char* kGood = R"(name: tiny
horizon: 7d
crews: 1
calendar: {shifts_per_day: 2, shift_hours: 8, days_per_week: 5}
products:
  - {name: a, mix: 0.5}
  - {name: b, mix: 0.5, cycle_factor: 1.2}
lines:
  - name: L
    machines:
      - name: press
        kind: press
        cycle_time: 30s
        degradation: [{name: wear, rate_per_hour: 0.01}]
        sensors: [{name: vib, unit: mm/s, period: 1m, noise_sd: 0.1, gain: 2, degradation: wear}]
        failure_modes:
          - {name: crack, degradation: wear, threshold: 1, repair_time: 1h}
        maintenance: {policy: condition, sensor: vib, threshold: 1.5, duration: 30m}
      - name: cnc
        kind: cnc
        cycle_time: {dist: lognormal, mean: 40s, sd: 5s}
    buffers:
      - {from: press, to: cnc, capacity: 5}
)";

std::string error_of(const std::string& yaml) {
  auto plant = parse_plant(yaml, "p.yaml");
  EXPECT_FALSE(plant.has_value()) << "accepted:\n" << yaml;
  return plant ? std::string() : plant.error().message;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(PlantParser, ReadsAValidPlant) {
  auto plant = parse_plant(kGood, "p.yaml");
  ASSERT_TRUE(plant.has_value()) << plant.error().message;
  EXPECT_EQ(plant->horizon, 7 * 86400.0);
  ASSERT_EQ(plant->lines.size(), 1u);
  const Line& line = plant->lines[0];
  ASSERT_EQ(line.order, (std::vector<int>{0, 1}));
  EXPECT_EQ(line.buffer_after, (std::vector<int64_t>{5}));
  EXPECT_EQ(line.machines[1].cycle_time.kind, DistributionKind::kLognormal);
  EXPECT_EQ(line.machines[0].failure_modes[0].trigger, FailureTrigger::kDegradation);
  EXPECT_EQ(line.machines[0].maintenance.sensor, 0);
  EXPECT_EQ(line.machines[0].sensors[0].degradation, 0);
  EXPECT_DOUBLE_EQ(plant->calendar.planned_hours_per_day(), 16);
}

TEST(PlantParser, ReadsTheDemoPlant) {
  auto plant = load_plant(std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml");
  ASSERT_TRUE(plant.has_value()) << plant.error().message;
  EXPECT_EQ(plant->lines[0].machines.size(), 6u);
}

TEST(PlantParser, ErrorsNameTheKeyPath) {
  struct Case {
    std::string from, to, expected;
  };
  const Case cases[] = {
      {"cycle_time: 30s", "cycle_time: 0", "p.yaml:13: lines[0].machines[0].cycle_time: must be > 0"},
      {"cycle_time: 30s", "cycle_time: -5", "lines[0].machines[0].cycle_time: '-5': not a duration"},
      {"cycle_time: 30s", "cycle_tme: 30s", "lines[0].machines[0].cycle_tme: unknown key"},
      {"mean: 40s, sd: 5s", "mean: 0s, sd: 5s", "lines[0].machines[1].cycle_time.mean: must be > 0"},
      {"dist: lognormal", "dist: gamma", "lines[0].machines[1].cycle_time.dist: unknown distribution 'gamma'"},
      {"rate_per_hour: 0.01", "rate_per_hour: -0.01", "lines[0].machines[0].degradation[0].rate_per_hour: must be > 0"},
      {"horizon: 7d", "horizon: 40000d", "horizon: 40000d is absurd"},
      {"horizon: 7d", "horizon: 0", "horizon: must be > 0"},
      {"{name: b, mix: 0.5,", "{name: b, mix: 0.6,", "products: mix shares sum to 1.1"},
      {"crews: 1", "crews: 0", "crews: must be between 1 and 10000"},
      {"shifts_per_day: 2, shift_hours: 8", "shifts_per_day: 4, shift_hours: 8", "calendar: 4 shifts of 8 h make more than 24 h"},
      {"kind: cnc", "kind: lathe", "lines[0].machines[1].kind: unknown kind 'lathe'"},
      {"threshold: 1.5", "threshold: 1.5, sensor2: x", "lines[0].machines[0].maintenance.sensor2: unknown key"},
      {"sensor: vib", "sensor: temp", "lines[0].machines[0].maintenance.sensor: no sensor named 'temp'"},
      {"degradation: wear}]", "degradation: rust}]", "lines[0].machines[0].sensors[0].degradation: no degradation named 'rust'"},
      {"period: 1m", "period: 0.1", "lines[0].machines[0].sensors[0].period: must be >= 1s"},
      {"capacity: 5", "capacity: 0", "lines[0].buffers[0].capacity: must be between 1"},
      {"to: cnc", "to: drill", "lines[0].buffers[0].to: no machine named 'drill' on this line"},
      {"{name: b, mix", "{name: a, mix", "products[1].name: 'a' is used twice"},
      {"repair_time: 1h}", "repair_time: 1h, mtbf: 3h}", "give exactly one of 'mtbf'"},
  };
  for (const Case& c : cases) {
    std::string message = error_of(replace(kGood, c.from, c.to));
    EXPECT_NE(message.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in:\n" << message;
  }
}

TEST(PlantParser, RejectsRoutingCyclesAndUnreachableMachines) {
  std::string three = replace(kGood, "    buffers:\n      - {from: press, to: cnc, capacity: 5}\n",
                              "      - {name: oven, kind: oven, cycle_time: 1m}\n    buffers:\n"
                              "      - {from: press, to: cnc}\n      - {from: cnc, to: oven}\n      - {from: oven, to: cnc}\n");
  std::string message = error_of(three);
  EXPECT_NE(message.find("lines[0].buffers[2].to: 'cnc' is already fed by buffers[0]"), std::string::npos) << message;

  std::string cycle = replace(kGood, "    buffers:\n      - {from: press, to: cnc, capacity: 5}\n",
                              "      - {name: oven, kind: oven, cycle_time: 1m}\n    buffers:\n"
                              "      - {from: cnc, to: oven}\n      - {from: oven, to: cnc}\n");
  message = error_of(cycle);
  EXPECT_NE(message.find("lines[0].buffers: routing cycle: cnc -> oven -> cnc"), std::string::npos) << message;

  std::string island = replace(kGood, "      - {from: press, to: cnc, capacity: 5}\n", "      []\n");
  island = replace(island, "    buffers:\n      []\n", "    buffers: []\n");
  message = error_of(island);
  EXPECT_NE(message.find("lines[0].machines[1]: 'cnc' is unreachable from the line's entry machine 'press'"), std::string::npos) << message;

  message = error_of(replace(kGood, "to: cnc", "to: press"));
  EXPECT_NE(message.find("routing cycle: 'press' feeds itself"), std::string::npos) << message;
}

TEST(PlantParser, ReportsEveryProblemAndSyntaxErrorsWithLines) {
  std::string two = replace(replace(kGood, "cycle_time: 30s", "cycle_time: 0"), "crews: 1", "crews: -2");
  std::string message = error_of(two);
  EXPECT_NE(message.find("crews"), std::string::npos) << message;
  EXPECT_NE(message.find("cycle_time"), std::string::npos) << message;

  message = error_of("lines: [\n  {name: x\n");
  EXPECT_NE(message.find("p.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;

  EXPECT_NE(error_of("").find("must be a mapping"), std::string::npos);
  EXPECT_NE(error_of("lines: 3").find("lines: must be a list"), std::string::npos);
  EXPECT_NE(error_of("name: x").find("lines: missing"), std::string::npos);
}

TEST(PlantParser, SurvivesAliasBombs) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'k'; ++c) {
    yaml += fmt::format("{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n", c, c, char(c - 1), char(c - 1),
                        char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1));
  }
  yaml += "lines: [{name: L, machines: *k}]\n";
  std::string message = error_of(yaml);
  EXPECT_FALSE(message.empty());
}

}  // namespace
}  // namespace officina::twin
