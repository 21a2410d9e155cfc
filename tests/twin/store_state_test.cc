// Reading the plant's current state from the telemetry store
// (store_state.h): the wear estimated by inverting the sensor model is close
// to the simulator's true wear (a small plant with known noise, and the demo
// plant) after a `twin live`-like run stored as the ingester would; renewals,
// status and health come from the status history; a maintenance in progress
// counts as renewed; bad input (an empty store, another plant's store, a
// missing file) gets a clear error; and the state becomes the wear states'
// `initial`, so a worn machine fails sooner.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "telemetry_recorder.h"
#include "twin/plant_parser.h"
#include "twin/simulator.h"
#include "twin/store_state.h"
#include "twin/store_state_report.h"
#include "twin/telemetry_topic.h"

namespace officina::twin {
namespace {

using test_support::kAnchor;

// 24/7, a fixed 100 s cycle, wear 0.1 per processing hour (failing at 1
// after about 10 h, repaired in 1 h); m reads its wear linearly, n through
// a square.
const char* kPlant = R"(
name: Wear Test
crews: 1
lines:
  - name: l
    machines:
      - name: m
        cycle_time: 100s
        degradation:
          - {name: w, rate_per_hour: 0.1, cv: 0.2}
        sensors:
          - {name: lin, period: 60s, noise_sd: 0.02, base: 1, gain: 1, degradation: w}
        failure_modes:
          - {name: worn, degradation: w, threshold: 1.0, repair_time: 1h}
      - name: n
        cycle_time: 100s
        degradation:
          - {name: v, rate_per_hour: 0.08, cv: 0.2}
        sensors:
          - {name: sq, period: 60s, noise_sd: 0.05, base: 10, gain: 4, exponent: 2, degradation: v}
        failure_modes:
          - {name: worn, degradation: v, threshold: 1.0, repair_time: 1h}
)";

Plant parse(const std::string& yaml) {
  auto plant = parse_plant(yaml, "test.yaml");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  return plant.value_or(Plant{});
}

TimeseriesStore open_store(const test::TempDir& dir, const std::string& name = "telemetry.db") {
  auto store = TimeseriesStore::open(dir.path(name));
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return std::move(*store);
}

// The averaged readings lag the newest wear by at most the growth over the
// window: readings × the fastest period of processing at full capacity, with
// 50% for the random increments (cv <= 0.35, summed over many parts).
double growth_bound(const Machine& m, size_t readings) {
  double period = m.sensors[0].period;
  for (const Sensor& s : m.sensors) period = std::min(period, s.period);
  double rate = 0;
  for (const Degradation& d : m.degradations) rate = std::max(rate, d.rate_per_hour);
  return 1.5 * rate * m.capacity * static_cast<double>(readings) * period / 3600;
}

// Compares every estimate with the simulator's truth; returns how many were compared.
int expect_close_to_truth(const Plant& plant, const PlantStoreState& state, const test_support::Recorder& rec,
                          double max_sd) {
  int compared = 0;
  for (const MachineStoreState& ms : state.machines) {
    const Machine& m = plant.lines[ms.line].machines[ms.machine];
    for (size_t g = 0; g < ms.wear.size(); ++g) {
      const WearEstimate& w = ms.wear[g];
      const std::string key = m.name + "/" + m.degradations[g].name;
      if (!rec.truth.count(key)) continue;  // no sensor reads it
      SCOPED_TRACE(key + " (" + w.source + ")");
      EXPECT_TRUE(w.estimated);
      if (ms.status == MachineStatus::kMaintenance || w.readings == 0) {
        EXPECT_EQ(w.wear, 0);  // renewed by the action in progress, or just renewed
        continue;
      }
      const double truth = std::min(rec.truth.at(key), w.limit);
      EXPECT_LE(w.sd, max_sd);
      EXPECT_NEAR(w.wear, truth, 4 * w.sd + growth_bound(m, StoreStateOptions{}.readings));
      EXPECT_GE(w.wear, 0);
      EXPECT_LE(w.wear, w.limit);
      ++compared;
    }
  }
  return compared;
}

TEST(StoreState, SmallPlantWearIsCloseToTheSimulatorsTruth) {
  const Plant plant = parse(kPlant);
  const Plant probed = test_support::add_truth_sensors(plant);
  int compared = 0, renewals = 0;
  for (double hours : {2.0, 4.5, 7.0, 9.5, 12.5, 16.0}) {
    SCOPED_TRACE("after " + std::to_string(hours) + " h");
    test::TempDir dir;
    TimeseriesStore store = open_store(dir);
    test_support::Recorder rec = test_support::record_live(probed, hours * 3600, 7);
    rec.write_to(store);
    auto state = read_store_state(plant, store);
    ASSERT_TRUE(state) << state.error().message;
    ASSERT_EQ(state->matched, 2u);
    EXPECT_EQ(state->plant, "Wear_Test");
    const MachineStoreState& m = state->machines[0];
    ASSERT_EQ(m.wear.size(), 1u);
    EXPECT_EQ(m.wear[0].sensors, std::vector<std::string>{"lin"});
    EXPECT_EQ(m.wear[0].source, "lin");
    EXPECT_EQ(m.wear[0].readings, 10u);
    // A linear sensor: the standard error is the readings' (1.1 sd / sqrt(10)) over the gain.
    if (m.wear[0].wear > 0.05 && m.wear[0].wear < 0.95) EXPECT_NEAR(m.wear[0].sd, 1.1 * 0.02 / std::sqrt(10.0), 1e-9);
    compared += expect_close_to_truth(plant, *state, rec, 0.03);

    // The renewal is where the recorded history last came back from a stop.
    std::optional<double> renewed;
    for (size_t i = 0; i + 1 < rec.states.size(); ++i) {
      const StateChange& s = rec.states[i];
      if (s.machine != "m" || (s.state != MachineStatus::kDown && s.state != MachineStatus::kMaintenance)) continue;
      for (size_t j = i + 1; j < rec.states.size(); ++j) {
        if (rec.states[j].machine == "m") {
          if (rec.states[j].state != MachineStatus::kDown && rec.states[j].state != MachineStatus::kMaintenance) renewed = rec.states[j].ts;
          break;
        }
      }
    }
    EXPECT_EQ(m.renewed_at, renewed);
    if (renewed) {
      ++renewals;
      EXPECT_FALSE(m.since_renewal_is_lower_bound);
      EXPECT_DOUBLE_EQ(m.since_renewal_s, state->as_of - *renewed);
    } else {
      EXPECT_TRUE(m.since_renewal_is_lower_bound);
      EXPECT_NEAR(m.since_renewal_s, hours * 3600, 120);  // since the first status, at the start
    }
    EXPECT_NEAR(state->as_of, kAnchor + hours * 3600, 60);
  }
  EXPECT_EQ(compared, 12);  // every estimate was compared
  EXPECT_GE(renewals, 2);   // the runs past 11 h include a failure and its repair
}

TEST(StoreState, DemoPlantWearIsCloseToTheSimulatorsTruth) {
  auto plant = load_plant(std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml");
  ASSERT_TRUE(plant) << plant.error().message;
  const Plant probed = test_support::add_truth_sensors(*plant);
  int compared = 0;
  // Mid-shift on working days (two 8 h shifts from midnight, Monday to Friday).
  for (double hours : {60.0, 82.0, 105.0}) {
    for (uint64_t seed : {1, 2}) {
      SCOPED_TRACE("after " + std::to_string(hours) + " h, seed " + std::to_string(seed));
      test::TempDir dir;
      TimeseriesStore store = open_store(dir);
      test_support::Recorder rec = test_support::record_live(probed, hours * 3600, seed);
      rec.write_to(store);
      auto state = read_store_state(*plant, store);
      ASSERT_TRUE(state) << state.error().message;
      EXPECT_EQ(state->matched, 6u);
      // The press's die wear has one linear sensor (0.8 kN noise, 14 kN gain).
      const WearEstimate& die = state->machines[0].wear[0];
      EXPECT_EQ(die.sensors, std::vector<std::string>{"forza_deviazione"});
      // The oven's bearing wear comes from both of its sensors.
      const WearEstimate& fan = state->machines[3].wear[0];
      if (fan.readings > 0) EXPECT_EQ(fan.source, "vibrazione_rms+temperatura");
      EXPECT_TRUE(state->machines[2].wear.empty());  // the welding cell has no wear state
      compared += expect_close_to_truth(*plant, *state, rec, 0.06);
    }
  }
  EXPECT_GE(compared, 15);  // of 18 (3 machines x 6 runs); the rest just renewed
}

Reading reading(const std::string& machine, const std::string& sensor, double ts, double value,
                const std::string& plant = "Wear_Test") {
  return Reading{plant, "l", machine, sensor, ts, value, ""};
}
StateChange change(const std::string& machine, double ts, MachineStatus s) { return StateChange{"Wear_Test", "l", machine, ts, s}; }

TEST(StoreState, RenewalsStatusAndHealthFromTheHistory) {
  const Plant plant = parse(kPlant);
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  const double t = kAnchor;
  std::vector<Reading> readings;
  // m: worn before a repair that ended at t+80, then three readings at wear 0.2.
  for (int i = 0; i < 5; ++i) readings.push_back(reading("m", "lin", t + i, 1.9));
  for (int i = 0; i < 3; ++i) readings.push_back(reading("m", "lin", t + 100 + i, 1.2 + 0.001 * i));
  // n: readings only before its repair ended.
  for (int i = 0; i < 5; ++i) readings.push_back(reading("n", "sq", t + i, 10 + 4 * 0.25));
  std::vector<StateChange> states = {
      change("m", t, MachineStatus::kRunning),       change("m", t + 50, MachineStatus::kDown),
      change("m", t + 60, MachineStatus::kMaintenance), change("m", t + 80, MachineStatus::kIdle),
      change("m", t + 90, MachineStatus::kRunning),  change("n", t, MachineStatus::kRunning),
      change("n", t + 10, MachineStatus::kDown),     change("n", t + 200, MachineStatus::kStarved)};
  std::vector<HealthUpdate> health = {{"Wear_Test", "l", "m", t + 150, RulEstimate{0.5, 7200, 3600, 9000}},
                                      {"Wear_Test", "l", "m", t + 100, RulEstimate{0.4, 9000, 5000, 12000}}};
  ASSERT_TRUE(store.write_batch(StoreBatch{readings, states, health, {}}));

  auto state = read_store_state(plant, store);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->as_of, t + 200);
  const MachineStoreState& m = state->machines[0];
  EXPECT_EQ(m.status, MachineStatus::kRunning);
  EXPECT_EQ(m.renewed_at, t + 80);
  EXPECT_EQ(m.since_renewal_s, 120);
  EXPECT_NEAR(m.wear[0].wear, 0.201, 1e-9);  // only the readings since the renewal
  EXPECT_EQ(m.wear[0].readings, 3u);
  ASSERT_TRUE(m.health);
  EXPECT_EQ(m.health->ts, t + 150);  // the newest, whatever the arrival order
  EXPECT_EQ(m.health->estimate.rul, 7200);
  const MachineStoreState& n = state->machines[1];
  EXPECT_EQ(n.renewed_at, t + 200);
  EXPECT_EQ(n.since_renewal_s, 0);
  EXPECT_EQ(n.wear[0].wear, 0);
  EXPECT_EQ(n.wear[0].source, "renewed, no reading since");
  EXPECT_FALSE(n.health);

  // A stop now: the renewal is the one before it, and maintenance in progress renews the wear.
  std::vector<StateChange> more = {change("m", t + 300, MachineStatus::kMaintenance)};
  ASSERT_TRUE(store.write({}, more));
  state = read_store_state(plant, store);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->machines[0].status, MachineStatus::kMaintenance);
  EXPECT_EQ(state->machines[0].renewed_at, t + 80);
  EXPECT_EQ(state->machines[0].wear[0].wear, 0);
  EXPECT_EQ(state->machines[0].wear[0].source, "maintenance in progress");

  const std::string table = store_state_table(*state);
  EXPECT_NE(table.find("maintenance in progress"), std::string::npos) << table;
  EXPECT_NE(table.find("renewed, no reading since"), std::string::npos) << table;
  Json json = store_state_json(*state);
  EXPECT_EQ(json["machines"][0]["status"], "maintenance");
  EXPECT_EQ(json["machines"][0]["health"]["rul"], 7200);
  EXPECT_EQ(json["machines"][0]["wear"][0]["limit"], 1.0);
  EXPECT_TRUE(json["machines"][1]["health"].is_null());
}

TEST(StoreState, ClampsToTheFailureThresholdAndKeepsUnreadStates) {
  const Plant plant = parse(kPlant);
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> readings;
  for (int i = 0; i < 10; ++i) readings.push_back(reading("m", "lin", kAnchor + i, 5.0));  // far past failure
  ASSERT_TRUE(store.write(readings, {}));
  auto state = read_store_state(plant, store);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->matched, 1u);
  EXPECT_EQ(state->machines[0].wear[0].wear, 1.0);
  EXPECT_TRUE(state->machines[0].since_renewal_is_lower_bound);
  EXPECT_FALSE(state->machines[1].found);  // n: nothing stored, left as in the YAML
  EXPECT_FALSE(state->machines[1].wear[0].estimated);
  EXPECT_EQ(state->machines[1].wear[0].source, "no telemetry");
}

TEST(StoreState, BadStoresGetClearErrors) {
  const Plant plant = parse(kPlant);
  test::TempDir dir;
  {
    TimeseriesStore empty = open_store(dir, "empty.db");
    auto r = read_store_state(plant, empty);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("empty.db: the store holds no telemetry"), std::string::npos) << r.error().message;
  }
  {
    TimeseriesStore other = open_store(dir, "other.db");
    std::vector<Reading> readings = {reading("m", "lin", kAnchor, 1.5, "Other_Plant")};
    ASSERT_TRUE(other.write(readings, {}));
    auto r = read_store_state(plant, other);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no telemetry for any machine of plant 'Wear Test'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("Other_Plant"), std::string::npos) << r.error().message;
  }
  auto missing = read_store_state(plant, dir.path("missing.db"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing.db: no telemetry store"), std::string::npos) << missing.error().message;
}

TEST(StoreState, TheStateBecomesTheInitialWearAndAWornMachineFailsSooner) {
  Plant plant = parse(kPlant);
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> readings;
  for (int i = 0; i < 10; ++i) readings.push_back(reading("m", "lin", kAnchor + 60 * i, 1.95));
  ASSERT_TRUE(store.write(readings, {}));
  auto state = read_store_state(plant, store);
  ASSERT_TRUE(state) << state.error().message;
  SimulationOptions o;
  o.horizon = 3600;
  auto as_new = simulate(plant, o);
  ASSERT_TRUE(as_new) << as_new.error().message;
  apply_store_state(plant, *state);
  EXPECT_NEAR(plant.lines[0].machines[0].degradations[0].initial, 0.95, 1e-9);
  EXPECT_EQ(plant.lines[0].machines[1].degradations[0].initial, 0);  // not in the store: unchanged
  auto worn = simulate(plant, o);
  ASSERT_TRUE(worn) << worn.error().message;
  EXPECT_EQ(as_new->kpis.lines[0].machines[0].kpis.get("failures"), 0);
  EXPECT_EQ(worn->kpis.lines[0].machines[0].kpis.get("failures"), 1);  // 0.05 of wear is half an hour
}

}  // namespace
}  // namespace officina::twin
