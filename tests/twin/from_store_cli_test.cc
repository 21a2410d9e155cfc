// `officina twin simulate --from-store DB` end to end through the binary:
// the state read from a store filled as `twin live` + `twin ingest` would
// (the demo plant, 82 simulated hours) is printed and written to the JSON,
// equal to what the library reads; a store with a worn oven makes its
// condition maintenance come within the first day, which as-new machines
// never need; `twin plan --from-store` forecasts the worn oven to fail; and
// bad stores (missing, empty, another plant's) fail with a clear message and
// exit code 1.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "test_util.h"
#include "telemetry_recorder.h"
#include "twin/plant_parser.h"
#include "twin/store_state.h"
#include "twin/timeseries_store.h"

namespace officina::twin {
namespace {

std::string demo_plant() { return std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml"; }
std::string q(const std::string& s) { return test::shell_quote(s); }

TimeseriesStore open_store(const std::string& path) {
  auto store = TimeseriesStore::open(path);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return std::move(*store);
}

Json read_json(const std::string& path) {
  auto json = parse_json(test::read_file(path), path);
  EXPECT_TRUE(json.has_value()) << path;
  return json.value_or(Json{});
}

const Json& machine_kpis(const Json& summary, const std::string& name) {
  static const Json none;
  for (const Json& m : summary["lines"][0]["machines"]) {
    if (m["name"] == name) return m["kpis"];
  }
  ADD_FAILURE() << "no machine " << name;
  return none;
}

TEST(FromStoreCli, SimulatePrintsAndUsesTheStateReadFromTheStore) {
  auto plant = load_plant(demo_plant());
  ASSERT_TRUE(plant) << plant.error().message;
  test::TempDir dir;
  const std::string db = dir.path("telemetry.db");
  {
    TimeseriesStore store = open_store(db);
    test_support::record_live(*plant, 82 * 3600.0, 3).write_to(store);
  }
  auto expected = read_store_state(*plant, db);
  ASSERT_TRUE(expected) << expected.error().message;

  test::Outcome r = test::run_officina("twin simulate " + q(demo_plant()) + " --horizon 2d -n 2 --seed 1 --from-store " +
                                       q(db) + " --json " + q(dir.path("out.json")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("State read from " + db), std::string::npos) << r.out;
  for (const char* name : {"pressa", "centro-cnc", "cella-saldatura", "forno-verniciatura", "montaggio", "imballaggio"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
  EXPECT_NE(r.out.find("vibrazione_rms+temperatura"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("State read from"), r.out.find("baseline")) << "the state comes before the KPIs";

  Json json = read_json(dir.path("out.json"));
  const Json& state = json["from_store"];
  EXPECT_EQ(state["plant"], "Imballaggi_Emiliani_-_linea_telai");
  EXPECT_EQ(state["matched"], 6);
  ASSERT_EQ(state["machines"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const MachineStoreState& want = expected->machines[i];
    const Json& got = state["machines"][i];
    EXPECT_EQ(got["machine"], want.machine_name);
    ASSERT_EQ(got["wear"].size(), want.wear.size());
    for (size_t g = 0; g < want.wear.size(); ++g) EXPECT_DOUBLE_EQ(got["wear"][g]["wear"].get<double>(), want.wear[g].wear);
  }
  EXPECT_TRUE(json.contains("baseline"));
}

// The demo oven's vibration at 4.5 mm/s for ten readings (wear 0.68, just
// under the 4.6 mm/s condition threshold); no other machine in the store.
void write_worn_oven(const std::string& db) {
  TimeseriesStore store = open_store(db);
  std::vector<Reading> readings;
  for (int i = 0; i < 10; ++i) {
    readings.push_back(Reading{"Imballaggi_Emiliani_-_linea_telai", "telai", "forno-verniciatura", "vibrazione_rms",
                               test_support::kAnchor + 600 * i, 4.5, "mm/s"});
  }
  ASSERT_TRUE(store.write(readings, {}));
}

TEST(FromStoreCli, AWornOvenIsMaintainedWithinTheFirstDay) {
  test::TempDir dir;
  const std::string db = dir.path("worn.db");
  write_worn_oven(db);
  const std::string common = "twin simulate " + q(demo_plant()) + " --horizon 1d -n 3 --seed 1 --json ";
  test::Outcome as_new = test::run_officina(common + q(dir.path("new.json")));
  ASSERT_EQ(as_new.code, 0) << as_new.err;
  test::Outcome worn = test::run_officina(common + q(dir.path("worn.json")) + " --from-store " + q(db));
  ASSERT_EQ(worn.code, 0) << worn.err;
  EXPECT_NE(worn.out.find("vibrazione_rms (10 readings)"), std::string::npos) << worn.out;
  EXPECT_NE(worn.out.find("no telemetry, kept initial"), std::string::npos) << worn.out;  // the other machines

  Json fresh = read_json(dir.path("new.json"));
  Json resumed = read_json(dir.path("worn.json"));
  EXPECT_FALSE(fresh.contains("from_store"));
  EXPECT_NEAR(resumed["from_store"]["machines"][3]["wear"][0]["wear"].get<double>(), (4.5 - 1.1) / 5, 1e-9);
  const double before = machine_kpis(fresh["baseline"], "forno-verniciatura")["preventive_actions"]["mean"].get<double>();
  const double after = machine_kpis(resumed["baseline"], "forno-verniciatura")["preventive_actions"]["mean"].get<double>();
  EXPECT_EQ(before, 0);  // as new, the oven is far from its threshold after a day
  EXPECT_GE(after, 1);   // from the store, every replication maintains it
}

TEST(FromStoreCli, PlanForecastsFromTheWornState) {
  test::TempDir dir;
  const std::string db = dir.path("worn.db");
  write_worn_oven(db);
  const std::string common = "twin plan " + q(demo_plant()) + " --horizon 2d -n 2 --pilot 2 --paths 200 --seed 1 --json ";
  test::Outcome as_new = test::run_officina(common + q(dir.path("new.json")));
  ASSERT_EQ(as_new.code, 0) << as_new.err;
  test::Outcome worn = test::run_officina(common + q(dir.path("worn.json")) + " --from-store " + q(db));
  ASSERT_EQ(worn.code, 0) << worn.err;
  EXPECT_NE(worn.out.find("State read from"), std::string::npos) << worn.out;
  auto p_fail = [](const Json& plan) {
    for (const Json& m : plan["machines"]) {
      if (m["name"] == "forno-verniciatura") return m["failure_probability"].get<double>();
    }
    ADD_FAILURE() << "no oven in the plan";
    return 0.0;
  };
  Json fresh = read_json(dir.path("new.json")), resumed = read_json(dir.path("worn.json"));
  EXPECT_TRUE(resumed.contains("from_store"));
  // Run to failure over 32 planned hours: a new bearing (0.028 of wear an
  // hour at most) cannot wear out, one at 0.68 does; only the burner's
  // random faults (MTBF 300 h) remain for the new one.
  EXPECT_LT(p_fail(fresh), 0.3);
  EXPECT_GT(p_fail(resumed), 0.9);
}

TEST(FromStoreCli, BadStoresFailWithAClearMessage) {
  test::TempDir dir;
  const std::string args = "twin simulate " + q(demo_plant()) + " --horizon 1d -n 2 --from-store ";
  test::Outcome missing = test::run_officina(args + q(dir.path("missing.db")));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("missing.db: no telemetry store"), std::string::npos) << missing.err;

  { TimeseriesStore empty = open_store(dir.path("empty.db")); }
  test::Outcome empty = test::run_officina(args + q(dir.path("empty.db")));
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.err.find("the store holds no telemetry"), std::string::npos) << empty.err;

  {
    TimeseriesStore other = open_store(dir.path("other.db"));
    std::vector<Reading> readings = {Reading{"acciaieria", "colata", "forno", "temperatura", test_support::kAnchor, 1500, "degC"}};
    ASSERT_TRUE(other.write(readings, {}));
  }
  test::Outcome other = test::run_officina(args + q(dir.path("other.db")));
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("no telemetry for any machine of plant 'Imballaggi Emiliani - linea telai'"), std::string::npos)
      << other.err;
  EXPECT_NE(other.err.find("acciaieria"), std::string::npos) << other.err;
  EXPECT_EQ(other.out.find("baseline"), std::string::npos) << "nothing is simulated";
}

}  // namespace
}  // namespace officina::twin
