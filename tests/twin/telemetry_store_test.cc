// The telemetry time-series store (insert, duplicates, retention, latest,
// history with downsampling, machine states, counters), the ingester's
// validation and counting without a broker, and `officina twin telemetry`.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "test_util.h"
#include "twin/telemetry_ingester.h"
#include "twin/timeseries_store.h"

namespace officina::twin {
namespace {

constexpr double kT0 = 1718000000;  // 2024-06-10

Reading reading(std::string machine, std::string sensor, double ts, double value, std::string line = "l1") {
  return Reading{"p", std::move(line), std::move(machine), std::move(sensor), ts, value, "mm/s"};
}

TimeseriesStore open_store(const test::TempDir& dir) {
  auto store = TimeseriesStore::open(dir.path("telemetry.db"));
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return std::move(*store);
}

TEST(TimeseriesStore, InsertsAndIgnoresDuplicates) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> batch = {reading("oven", "vib", kT0, 1.0), reading("oven", "vib", kT0 + 1, 2.0),
                                reading("oven", "temp", kT0, 180.0), reading("press", "vib", kT0, 3.0, "l2")};
  auto first = store.write(batch, {});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->readings_added, 4u);
  EXPECT_EQ(first->readings_duplicate, 0u);

  // A QoS 1 redelivery: same key, even with another value, is ignored.
  std::vector<Reading> again = {reading("oven", "vib", kT0 + 1, 99.0), reading("oven", "vib", kT0 + 2, 5.0)};
  auto second = store.write(again, {});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->readings_added, 1u);
  EXPECT_EQ(second->readings_duplicate, 1u);
  EXPECT_EQ(*store.reading_count(), 5u);
  EXPECT_EQ(*store.reading_count({"", "", "oven"}), 4u);
  EXPECT_EQ(*store.reading_count({"p", "l2", ""}), 1u);

  auto counters = store.counters();
  ASSERT_TRUE(counters);
  EXPECT_EQ((*counters)["accepted"], 5u);
  EXPECT_EQ((*counters)["duplicate"], 1u);

  auto series = store.history({{"", "", "oven"}, "vib"});
  ASSERT_TRUE(series) << series.error().message;
  ASSERT_EQ(series->points.size(), 3u);
  EXPECT_EQ(series->points[1].value, 2.0);  // the first copy wins
  EXPECT_EQ(series->unit, "mm/s");
}

TEST(TimeseriesStore, LatestFollowsTheNewestTimestampNotArrivalOrder) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> newer = {reading("oven", "vib", kT0 + 10, 4.0)};
  std::vector<Reading> older = {reading("oven", "vib", kT0 + 5, 3.0), reading("oven", "temp", kT0 + 1, 170.0)};
  ASSERT_TRUE(store.write(newer, {}));
  ASSERT_TRUE(store.write(older, {}));  // a late batch must not move latest back
  auto latest = store.latest();
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].sensor, "temp");
  EXPECT_EQ((*latest)[1].sensor, "vib");
  EXPECT_EQ((*latest)[1].value, 4.0);
  EXPECT_EQ((*latest)[1].ts, kT0 + 10);
  EXPECT_EQ(store.latest({"", "", "press"})->size(), 0u);
}

TEST(TimeseriesStore, HistoryRangesAndDownsampling) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(reading("oven", "vib", kT0 + i, i));  // one a second, value = i
  ASSERT_TRUE(store.write(batch, {}));

  HistoryQuery q{{"", "", "oven"}, "vib", kT0 + 10, kT0 + 19};
  auto raw = store.history(q);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->points.size(), 10u);  // both ends inclusive
  EXPECT_EQ(raw->points.front().value, 10);
  EXPECT_EQ(raw->points.back().value, 19);
  EXPECT_EQ(raw->step, 0);

  // 10 s buckets aligned to the epoch (kT0 is a multiple of 10).
  q = HistoryQuery{{"", "", "oven"}, "vib"};
  q.step = 10;
  auto buckets = store.history(q);
  ASSERT_TRUE(buckets);
  ASSERT_EQ(buckets->points.size(), 10u);
  EXPECT_EQ(buckets->points[3].ts, kT0 + 30);
  EXPECT_DOUBLE_EQ(buckets->points[3].value, 34.5);
  EXPECT_EQ(buckets->points[3].min, 30);
  EXPECT_EQ(buckets->points[3].max, 39);
  EXPECT_EQ(buckets->points[3].count, 10u);

  // At most 7 points, every reading in exactly one of them.
  q.step = 0;
  q.max_points = 7;
  auto capped = store.history(q);
  ASSERT_TRUE(capped);
  EXPECT_LE(capped->points.size(), 7u);
  EXPECT_GE(capped->points.size(), 6u);
  uint64_t total = 0;
  for (const HistoryPoint& p : capped->points) total += p.count;
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(capped->points.front().min, 0);
  EXPECT_EQ(capped->points.back().max, 99);

  // Fewer readings than max_points come back raw.
  q.max_points = 1000;
  EXPECT_EQ(store.history(q)->points.size(), 100u);
  EXPECT_EQ(store.history(q)->step, 0);

  EXPECT_FALSE(store.history(HistoryQuery{{}, "vib"}));                 // no machine
  EXPECT_FALSE(store.history(HistoryQuery{{"", "", "oven"}, ""}));      // no sensor
  EXPECT_FALSE(store.history(HistoryQuery{{"", "", "oven"}, "vib", 5, 1}));  // reversed range
  EXPECT_EQ(store.history(HistoryQuery{{"", "", "oven"}, "nope"})->points.size(), 0u);
}

TEST(TimeseriesStore, RetentionDeletesHistoryButKeepsLastKnownValues) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<Reading> batch = {reading("oven", "vib", kT0, 1), reading("oven", "vib", kT0 + 100, 2),
                                reading("press", "force", kT0 + 50, 3)};
  std::vector<StateChange> states = {{"p", "l1", "oven", kT0, MachineStatus::kRunning},
                                     {"p", "l1", "oven", kT0 + 100, MachineStatus::kDown}};
  ASSERT_TRUE(store.write(batch, states));
  auto deleted = store.delete_before(kT0 + 60);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 3u);  // two readings, one state
  EXPECT_EQ(*store.reading_count(), 1u);
  EXPECT_EQ(store.latest()->size(), 2u);  // press/force is old but still its last known value
  EXPECT_EQ(store.state_history({}, 0, 1e11)->size(), 1u);
  EXPECT_EQ(*store.delete_before(kT0 + 60), 0u);
}

TEST(TimeseriesStore, MachineStates) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir);
  std::vector<StateChange> states = {{"p", "l1", "oven", kT0 + 1, MachineStatus::kRunning},
                                     {"p", "l1", "oven", kT0 + 5, MachineStatus::kBlocked},
                                     {"p", "l1", "press", kT0 + 2, MachineStatus::kMaintenance},
                                     {"p", "l1", "oven", kT0 + 3, MachineStatus::kStarved}};
  auto w = store.write({}, states);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->states_added, 4u);
  std::vector<StateChange> again = {states[1]};
  EXPECT_EQ(store.write({}, again)->states_duplicate, 1u);
  auto current = store.current_states();
  ASSERT_TRUE(current);
  ASSERT_EQ(current->size(), 2u);
  EXPECT_EQ((*current)[0].machine, "oven");
  EXPECT_EQ((*current)[0].state, MachineStatus::kBlocked);  // the newest, whatever the order they came in
  EXPECT_EQ((*current)[0].ts, kT0 + 5);
  EXPECT_EQ((*current)[1].state, MachineStatus::kMaintenance);
  auto oven = store.state_history({"", "", "oven"}, kT0, kT0 + 4);
  ASSERT_TRUE(oven);
  ASSERT_EQ(oven->size(), 2u);
  EXPECT_EQ((*oven)[0].state, MachineStatus::kRunning);
  EXPECT_EQ((*oven)[1].state, MachineStatus::kStarved);
}

TEST(TimeseriesStore, PersistsAcrossReopenAndRejectsOtherFiles) {
  test::TempDir dir;
  {
    TimeseriesStore store = open_store(dir);
    std::vector<Reading> batch = {reading("oven", "vib", kT0, 1)};
    ASSERT_TRUE(store.write(batch, {}, {{"bad_topic", 2}}));
  }
  auto again = TimeseriesStore::open_existing(dir.path("telemetry.db"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again->reading_count(), 1u);
  EXPECT_EQ((*again->counters())["bad_topic"], 2u);

  auto missing = TimeseriesStore::open_existing(dir.path("nope.db"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.db: no telemetry store"), std::string::npos) << missing.error().message;

  std::ofstream(dir.path("junk.db")) << "this is not a database, just some text that is long enough to have a header....";
  auto junk = TimeseriesStore::open(dir.path("junk.db"));
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message.find("junk.db"), std::string::npos) << junk.error().message;
}

TEST(TelemetryIngester, CountsEveryRejectReasonAndStoresTheValidOnes) {
  test::TempDir dir;
  IngestOptions o;
  o.plant = "p";
  auto ingester = TelemetryIngester::open(dir.path("telemetry.db"), o);
  ASSERT_TRUE(ingester) << ingester.error().message;
  TelemetryIngester& in = **ingester;
  const std::string t = "officina/p/l1/oven/vib", st = "officina/p/l1/oven/state";
  in.ingest(t, R"({"ts": 1718000000, "value": 1.5, "unit": "mm/s"})");
  in.ingest(t, R"({"ts": 1718000000, "value": 1.5, "unit": "mm/s"})");  // redelivered
  in.ingest(t, R"({"ts": 1718000001, "value": 1.6, "unit": "mm/s"})");
  in.ingest(st, R"({"ts": 1718000001, "state": "running"})");
  in.ingest("officina/other/l1/oven/vib", R"({"ts": 1718000000, "value": 1})");  // --plant p
  in.ingest(t, std::string(70 * 1024, '{'));
  in.ingest("officina/p/l1/oven", R"({"ts": 1, "value": 1})");
  in.ingest(t, "not json");
  in.ingest(t, std::string("\x89PNG\r\n\x1a\n\0\0\0", 12));
  in.ingest(t, R"({"ts": 1})");
  in.ingest(t, R"({"ts": 1, "value": "high"})");
  in.ingest(t, R"({"value": 1})");
  in.ingest(t, R"({"ts": 1, "value": 1, "unit": {"si": "m"}})");
  in.ingest(st, R"({"ts": 1, "state": "on fire"})");
  ASSERT_TRUE(in.flush());

  IngestCounters c = in.counters();
  EXPECT_EQ(c.received, 14u);
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.duplicate, 1u);
  EXPECT_EQ(c.other_plant, 1u);
  EXPECT_EQ(c.rejected_total(), 9u);
  for (const char* reason : {"oversized", "bad_topic", "missing_value", "non_numeric_value", "bad_timestamp", "bad_unit", "bad_state"}) {
    EXPECT_EQ(c.rejected[reason], 1u) << reason;
  }
  EXPECT_EQ(c.rejected["malformed_json"], 2u);

  auto store = TimeseriesStore::open_existing(dir.path("telemetry.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->reading_count(), 2u);
  EXPECT_EQ(store->current_states()->size(), 1u);
  auto persisted = *store->counters();  // queryable after the process is gone
  EXPECT_EQ(persisted["accepted"], 3u);
  EXPECT_EQ(persisted["duplicate"], 1u);
  EXPECT_EQ(persisted["malformed_json"], 2u);
  EXPECT_EQ(persisted["bad_state"], 1u);
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int status = pclose(pipe);
  return out + "\n[exit " + std::to_string(WEXITSTATUS(status)) + "]";
}

TEST(TelemetryCommand, QueriesTheStore) {
  test::TempDir dir;
  {
    TimeseriesStore store = open_store(dir);
    std::vector<Reading> batch;
    for (int i = 0; i < 20; ++i) batch.push_back(reading("forno-verniciatura", "vibrazione_rms", kT0 + 60 * i, 1 + 0.1 * i));
    std::vector<StateChange> states = {{"p", "l1", "forno-verniciatura", kT0, MachineStatus::kDown}};
    ASSERT_TRUE(store.write(batch, states));
  }
  const std::string base = test::officina_binary() + " twin telemetry --store " + dir.path("telemetry.db");
  std::string latest = run(base + " latest --json");
  ASSERT_NE(latest.find("[exit 0]"), std::string::npos) << latest;
  auto json = parse_json(latest.substr(0, latest.find("\n[exit")), "latest");
  ASSERT_TRUE(json) << latest;
  ASSERT_EQ(json->size(), 1u);
  EXPECT_EQ((*json)[0]["machine"], "forno-verniciatura");
  EXPECT_DOUBLE_EQ((*json)[0]["value"].get<double>(), 2.9);

  std::string history = run(base + " history --machine forno-verniciatura --sensor vibrazione_rms --step 5m --json");
  ASSERT_NE(history.find("[exit 0]"), std::string::npos) << history;
  auto h = parse_json(history.substr(0, history.find("\n[exit")), "history");
  ASSERT_TRUE(h) << history;
  EXPECT_EQ((*h)["step"], 300.0);
  // 20 minutes in 5-minute buckets aligned to the epoch: kT0 is 200 s into one.
  ASSERT_EQ((*h)["points"].size(), 5u);
  EXPECT_EQ((*h)["points"][0]["count"], 2u);
  EXPECT_EQ((*h)["points"][4]["count"], 3u);

  std::string table = run(base + " --machine forno-verniciatura states");
  EXPECT_NE(table.find("down"), std::string::npos) << table;
  EXPECT_NE(table.find("2024-06-10T06:13:20.000Z"), std::string::npos) << table;

  std::string missing = run(base + " history --sensor vibrazione_rms");
  EXPECT_NE(missing.find("--machine is required"), std::string::npos) << missing;
  EXPECT_NE(missing.find("[exit 1]"), std::string::npos) << missing;
  std::string nostore = run(test::officina_binary() + " twin telemetry --store " + dir.path("none.db") + " latest");
  EXPECT_NE(nostore.find("no telemetry store"), std::string::npos) << nostore;
}

}  // namespace
}  // namespace officina::twin
