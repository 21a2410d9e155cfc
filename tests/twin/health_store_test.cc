// Health estimates in the telemetry store: the health topic and payload are
// decoded (each malformed variant rejected with its reason, and a sensor
// called "health" kept apart from the health topic), the ingester stores
// valid estimates once (a redelivery is a duplicate) and counts and skips the
// rest, retention deletes old estimates but keeps the latest, a store file
// written by schema 1 is migrated, and `twin telemetry health` prints them.
#include <sqlite3.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "test_util.h"
#include "twin/telemetry_ingester.h"
#include "twin/telemetry_message.h"
#include "twin/telemetry_topic.h"
#include "twin/timeseries_store.h"

namespace officina::twin {
namespace {

constexpr double kT0 = 1718000000;

std::string reject_of(std::string_view topic, std::string_view payload) {
  DecodedTelemetry d = decode_telemetry(topic, payload);
  if (!d.reject) return d.health ? "health" : d.reading ? "reading" : "state";
  return std::string(telemetry_reject_name(*d.reject));
}

TEST(HealthMessage, DecodesValidPayloadsAndRejectsEachMalformedVariant) {
  HealthUpdate h{"Demo plant", "linea", "forno", kT0 + 0.5, RulEstimate{1.25, 7200, 3600, 10800}};
  DecodedTelemetry d = decode_telemetry(health_topic(h), health_payload(h));
  ASSERT_TRUE(d.health) << (d.reject ? telemetry_reject_name(*d.reject) : "not health");
  EXPECT_EQ(d.health->plant, "Demo_plant");
  EXPECT_EQ(d.health->machine, "forno");
  EXPECT_EQ(d.health->ts, h.ts);
  EXPECT_EQ(d.health->estimate.health_index, 1.25);
  EXPECT_EQ(d.health->estimate.rul, 7200);
  EXPECT_EQ(d.health->estimate.rul_lo, 3600);
  EXPECT_EQ(d.health->estimate.rul_hi, 10800);

  const std::string t = "officina/p/l/m/health";
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":0,"rul":0,"rul_lo":0,"rul_hi":0})"), "health");
  // A point outside its interval is stored as sent; an inverted interval is not.
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":50,"rul_lo":60,"rul_hi":90})"), "health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":50,"rul_lo":90,"rul_hi":60})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"rul":5,"rul_lo":1,"rul_hi":9})"), "missing_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul_lo":1,"rul_hi":9})"), "missing_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":5,"rul_hi":9})"), "missing_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":5,"rul_lo":1,"rul_hi":null})"), "missing_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":3})"), "missing_health");  // a reading sent to the health topic
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":"ok","rul":5,"rul_lo":1,"rul_hi":9})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":-5,"rul_lo":1,"rul_hi":9})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":-0.1,"rul":5,"rul_lo":1,"rul_hi":9})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":[5],"rul_lo":1,"rul_hi":9})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"health_index":1,"rul":true,"rul_lo":1,"rul_hi":9})"), "bad_health");
  EXPECT_EQ(reject_of(t, R"({"health_index":1,"rul":5,"rul_lo":1,"rul_hi":9})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, R"({"ts":-1,"health_index":1,"rul":5,"rul_lo":1,"rul_hi":9})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, "[1]"), "malformed_json");

  // A sensor called "health" gets a level of its own, and stays a reading.
  EXPECT_EQ(sanitize_topic_level("health"), "health_");
  Reading r{"p", "l", "m", "health", 1, 2, ""};
  EXPECT_EQ(reading_topic(r), "officina/p/l/m/health_");
  EXPECT_EQ(reject_of(reading_topic(r), reading_payload(r)), "reading");
  EXPECT_EQ(health_topic(HealthUpdate{"p", "l", "m", 1, {}}), "officina/p/l/m/health");
}

TimeseriesStore open_store(const std::string& path) {
  auto store = TimeseriesStore::open(path);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return std::move(*store);
}

std::string payload(double ts, double hi, double rul, double lo, double hi_bound) {
  return Json{{"ts", ts}, {"health_index", hi}, {"rul", rul}, {"rul_lo", lo}, {"rul_hi", hi_bound}}.dump();
}

TEST(HealthStore, IngesterStoresValidEstimatesOnceAndCountsTheRest) {
  test::TempDir dir;
  auto ingester = TelemetryIngester::open(dir.path("telemetry.db"), IngestOptions{});
  ASSERT_TRUE(ingester) << ingester.error().message;
  TelemetryIngester& in = **ingester;
  const std::string oven = "officina/p/l/oven/health", press = "officina/p/l/press/health";
  in.ingest(oven, payload(kT0, 0.8, 36000, 30000, 40000));
  in.ingest(oven, payload(kT0, 0.8, 36000, 30000, 40000));  // a QoS 1 redelivery
  in.ingest(oven, payload(kT0 + 3600, 1.1, 32400, 26000, 38000));
  in.ingest(press, payload(kT0 + 60, 0.2, 90000, 80000, 99000));
  in.ingest(oven, R"({"ts":1718000100,"rul":1,"rul_lo":0,"rul_hi":2})");
  in.ingest(oven, R"({"ts":1718000100,"health_index":1,"rul":1,"rul_lo":3,"rul_hi":2})");
  in.ingest(oven, R"({"ts":1718000100,"health_index":1,"rul":"soon","rul_lo":0,"rul_hi":2})");
  in.ingest(oven, R"({"health_index":1,"rul":1,"rul_lo":0,"rul_hi":2})");
  ASSERT_TRUE(in.flush());
  IngestCounters c = in.counters();
  EXPECT_EQ(c.received, 8u);
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.duplicate, 1u);
  EXPECT_EQ(c.rejected["missing_health"], 1u);
  EXPECT_EQ(c.rejected["bad_health"], 2u);
  EXPECT_EQ(c.rejected["bad_timestamp"], 1u);
  EXPECT_EQ(c.rejected_total(), 4u);

  auto store = TimeseriesStore::open_existing(dir.path("telemetry.db"));
  ASSERT_TRUE(store) << store.error().message;
  auto latest = store->latest_health();
  ASSERT_TRUE(latest) << latest.error().message;
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].machine, "oven");
  EXPECT_EQ((*latest)[0].ts, kT0 + 3600);
  EXPECT_EQ((*latest)[0].estimate.rul, 32400);
  EXPECT_EQ((*latest)[1].machine, "press");
  auto history = store->health_history({"", "", "oven"}, 0, kT0 + 1e6);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].estimate.health_index, 0.8);  // oldest first
  EXPECT_EQ((*history)[1].estimate.rul_lo, 26000);
  auto counters = *store->counters();
  EXPECT_EQ(counters["accepted"], 3u);
  EXPECT_EQ(counters["duplicate"], 1u);
  EXPECT_EQ(counters["bad_health"], 2u);
  EXPECT_EQ(*store->reading_count(), 0u);  // no health estimate became a reading
}

TEST(HealthStore, RetentionDeletesOldEstimatesButKeepsTheLatest) {
  test::TempDir dir;
  TimeseriesStore store = open_store(dir.path("telemetry.db"));
  std::vector<HealthUpdate> health;
  for (int i = 0; i < 5; ++i) health.push_back(HealthUpdate{"p", "l", "oven", kT0 + 100 * i, RulEstimate{1, 1000.0 - i, 900, 1100}});
  health.push_back(HealthUpdate{"p", "l", "press", kT0, RulEstimate{0, 5000, 4000, 6000}});
  auto written = store.write_batch(StoreBatch{{}, {}, health, {}});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(written->health_added, 6u);
  auto deleted = store.delete_before(kT0 + 250);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 4u);  // oven at +0, +100, +200 and the press
  auto left = store.health_history({}, 0, kT0 + 1e6);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].ts, kT0 + 300);
  auto latest = store.latest_health();
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 2u);  // the press's last known estimate survives retention
  EXPECT_EQ((*latest)[1].machine, "press");
  EXPECT_EQ((*latest)[0].estimate.rul, 996);
}

// The schema-1 store an officina before health messages wrote.
const char* kSchemaV1 = R"sql(
CREATE TABLE readings(plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, sensor TEXT NOT NULL,
  ts REAL NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '', UNIQUE(plant, line, machine, sensor, ts));
CREATE TABLE latest_readings(plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, sensor TEXT NOT NULL,
  ts REAL NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '', PRIMARY KEY(plant, line, machine, sensor));
CREATE TABLE machine_states(plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL,
  state TEXT NOT NULL, UNIQUE(plant, line, machine, ts));
CREATE TABLE current_states(plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL,
  state TEXT NOT NULL, PRIMARY KEY(plant, line, machine));
CREATE TABLE ingest_counters(name TEXT PRIMARY KEY, count INTEGER NOT NULL);
INSERT INTO readings VALUES('p', 'l', 'oven', 'vib', 1718000000, 4.5, 'mm/s');
INSERT INTO latest_readings VALUES('p', 'l', 'oven', 'vib', 1718000000, 4.5, 'mm/s');
INSERT INTO ingest_counters VALUES('accepted', 1);
PRAGMA user_version = 1;
)sql";

int64_t user_version(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

bool exec_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK && sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

TEST(HealthStore, MigratesASchemaOneStoreAndRefusesANewerOne) {
  test::TempDir dir;
  const std::string path = dir.path("old.db");
  ASSERT_TRUE(exec_sql(path, kSchemaV1));
  ASSERT_EQ(user_version(path), 1);
  {
    TimeseriesStore store = open_store(path);
    EXPECT_EQ(*store.reading_count(), 1u);  // nothing stored before is lost
    EXPECT_EQ((*store.counters())["accepted"], 1u);
    auto latest = store.latest();
    ASSERT_TRUE(latest);
    ASSERT_EQ(latest->size(), 1u);
    EXPECT_EQ((*latest)[0].value, 4.5);
    std::vector<HealthUpdate> health = {{"p", "l", "oven", kT0 + 5, RulEstimate{1, 2, 1, 3}}};
    auto w = store.write_batch(StoreBatch{{}, {}, health, {}});
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_EQ(w->health_added, 1u);
  }
  EXPECT_EQ(user_version(path), 2);
  auto again = TimeseriesStore::open_existing(path);  // a migrated file opens as it is
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->latest_health()->size(), 1u);

  const std::string newer = dir.path("newer.db");
  ASSERT_TRUE(exec_sql(newer, "CREATE TABLE x(a); PRAGMA user_version = 3;"));
  auto refused = TimeseriesStore::open(newer);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("schema 3 is newer"), std::string::npos) << refused.error().message;
}

TEST(HealthStore, TelemetryHealthCommand) {
  test::TempDir dir;
  {
    TimeseriesStore store = open_store(dir.path("telemetry.db"));
    std::vector<HealthUpdate> health = {{"p", "l", "forno", kT0, RulEstimate{0.5, 36000, 30000, 40000}},
                                        {"p", "l", "forno", kT0 + 3600, RulEstimate{0.9, 7200, 3600, 10800}},
                                        {"p", "l", "pressa", kT0, RulEstimate{0.1, 90000, 80000, 99000}}};
    ASSERT_TRUE(store.write_batch(StoreBatch{{}, {}, health, {}}));
  }
  const std::string base = "twin telemetry --store " + test::shell_quote(dir.path("telemetry.db"));
  test::Outcome table = test::run_officina(base + " health");
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("forno"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2.0"), std::string::npos) << table.out;  // 7200 s of RUL in hours
  EXPECT_NE(table.out.find("pressa"), std::string::npos) << table.out;

  test::Outcome one = test::run_officina(base + " health --machine forno --json");
  ASSERT_EQ(one.code, 0) << one.err;
  auto json = parse_json(one.out, "health");
  ASSERT_TRUE(json) << one.out;
  ASSERT_EQ(json->size(), 1u);
  EXPECT_EQ((*json)[0]["rul"], 7200);
  EXPECT_EQ((*json)[0]["ts"], kT0 + 3600);

  test::Outcome history = test::run_officina(base + " health --machine forno --history --json");
  ASSERT_EQ(history.code, 0) << history.err;
  auto h = parse_json(history.out, "history");
  ASSERT_TRUE(h) << history.out;
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0]["rul"], 36000);

  test::Outcome missing = test::run_officina("twin telemetry --store " + test::shell_quote(dir.path("none.db")) + " health");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no telemetry store"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace officina::twin
