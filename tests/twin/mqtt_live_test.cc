// Live mode end to end against a real mosquitto broker on a loopback port:
// the publisher runs a plant in accelerated real time, the ingester stores
// what arrives, the broker is stopped and restarted mid-run, and every
// reading the publisher accepted must end up in the store exactly once; then
// the same path through the officina binary. Every wait is bounded.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "mqtt_test_broker.h"
#include "test_util.h"
#include "twin/live_runner.h"
#include "twin/plant_parser.h"
#include "twin/telemetry_publisher.h"
#include "twin/telemetry_topic.h"

namespace officina::twin {
namespace {

using namespace test_mqtt;

// Records what the simulator hands over (and the publisher accepts).
class RecordingSink : public TelemetrySink {
 public:
  explicit RecordingSink(TelemetryPublisher& publisher) : publisher_(publisher) {}
  bool on_reading(const Reading& r) override {
    if (!publisher_.on_reading(r)) return false;
    std::lock_guard lock(mutex_);
    readings.push_back(r);
    return true;
  }
  bool on_state(const StateChange& s) override {
    if (!publisher_.on_state(s)) return false;
    std::lock_guard lock(mutex_);
    states.push_back(s);
    return true;
  }
  size_t reading_count() {
    std::lock_guard lock(mutex_);
    return readings.size();
  }
  std::vector<Reading> readings;
  std::vector<StateChange> states;

 private:
  TelemetryPublisher& publisher_;
  std::mutex mutex_;
};

constexpr const char* kPlant = R"(
name: Test Plant
calendar: {shifts_per_day: 3, shift_hours: 8, days_per_week: 7}
crews: 1
lines:
  - name: linea 1
    machines:
      - name: taglio
        cycle_time: 20s
        degradation: [{name: usura, rate_per_hour: 2, cv: 0.2}]
        sensors:
          - {name: vibrazione, unit: mm/s, period: 1s, noise_sd: 0.1, base: 1, gain: 3, degradation: usura}
          - {name: temperatura, unit: degC, period: 2s, noise_sd: 0.5, base: 40}
        failure_modes:
          - {name: guasto, mtbf: 120s, repair_time: 30s}
      - name: pressa 2
        cycle_time: {dist: exponential, mean: 25s}
        sensors:
          - {name: state, unit: A, period: 1s, noise_sd: 0.2, base: 10}
)";

// Worst case, every wait timing out: about 55 s; normally about 7 s.
TEST(MqttLive, BrokerRestartMidRunLosesNoBufferedReading) {
  REQUIRE_MOSQUITTO(binary);
  test::TempDir dir;
  TestBroker broker(binary, dir.path());
  ASSERT_TRUE(broker.start());
  auto plant = parse_plant(kPlant, "test-plant.yaml");
  ASSERT_TRUE(plant) << plant.error().message;

  const std::string store_path = dir.path("telemetry.db");
  auto ingester = start_ingester(store_path, broker.port());
  ASSERT_TRUE(ingester);
  ASSERT_TRUE(wait_for([&] { return ingester->connected(); }, 3000ms)) << broker.log_text();

  PublisherOptions po;
  po.mqtt = client_options(broker.port(), "officina-test-live");
  TelemetryPublisher publisher(po);
  publisher.start();
  ASSERT_TRUE(wait_for([&] { return publisher.stats().connected; }, 3000ms));

  // 10 simulated minutes at 100x: about 6 s of wall time, 1500 readings.
  RecordingSink sink(publisher);
  std::atomic<bool> stop{false};
  LiveOptions lo;
  lo.duration = 600;
  lo.speed = 100;
  lo.seed = 7;
  lo.stop = &stop;
  Result<LiveResult> result = fail("not run");
  std::thread live([&] { result = run_live(*plant, lo, sink); });
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{live, stop};

  // Let data flow, then take the broker away for about a second and a half.
  ASSERT_TRUE(wait_for([&] { return ingester->counters().accepted >= 200; }, 5000ms))
      << "nothing arrived:\n" << broker.log_text();
  broker.stop();
  bool buffered_while_down = false;
  wait_for([&] {
    PublisherStats s = publisher.stats();
    buffered_while_down = buffered_while_down || (!s.connected && s.buffered > 0);
    return false;
  }, 1500ms);
  ASSERT_TRUE(broker.start());
  live.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->stopped);
  EXPECT_EQ(result->refused, 0u);
  EXPECT_TRUE(buffered_while_down) << "the publisher never buffered during the outage";

  ASSERT_TRUE(publisher.flush(12)) << publisher.stats().buffered << " messages never acknowledged";
  PublisherStats ps = publisher.stats();
  publisher.stop();
  EXPECT_EQ(ps.dropped, 0u);
  EXPECT_GE(ps.connections, 2u);
  EXPECT_EQ(ps.accepted, sink.readings.size() + sink.states.size());
  EXPECT_GT(sink.readings.size(), 1400u);
  EXPECT_GT(sink.states.size(), 5u);

  // Everything acknowledged by the broker reaches the ingester's persistent session.
  const uint64_t expected = sink.readings.size() + sink.states.size();
  ASSERT_TRUE(wait_for([&] { return ingester->counters().accepted >= expected; }, 10000ms))
      << ingester->counters().accepted << " of " << expected << " stored:\n" << broker.log_text();
  ingester->stop();
  IngestCounters c = ingester->counters();
  EXPECT_EQ(c.accepted, expected);
  EXPECT_EQ(c.rejected_total(), 0u);

  // Compare reading by reading: same (machine, sensor, ts) and the same value.
  auto store = TimeseriesStore::open_existing(store_path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*store->reading_count(), sink.readings.size());
  std::map<std::pair<std::string, std::string>, std::map<double, double>> stored;
  size_t missing = 0;
  for (const Reading& r : sink.readings) {
    auto key = std::make_pair(sanitize_topic_level(r.machine), sanitize_topic_level(r.sensor));
    if (!stored.count(key)) {
      auto series = store->history(HistoryQuery{{"", "", key.first}, key.second});
      ASSERT_TRUE(series) << series.error().message;
      for (const HistoryPoint& p : series->points) stored[key][p.ts] = p.value;
    }
    auto it = stored[key].find(r.ts);
    if (it == stored[key].end() || it->second != r.value) {
      if (++missing <= 5) ADD_FAILURE() << "missing " << key.first << "/" << key.second << " at " << r.ts;
    }
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(stored.size(), 3u);
  EXPECT_TRUE(stored.count({"pressa_2", "state_"}));  // names sanitized into topic levels

  // Downsampled history covers every reading once.
  HistoryQuery q{{"", "", "taglio"}, "vibrazione"};
  q.max_points = 50;
  auto capped = store->history(q);
  ASSERT_TRUE(capped);
  EXPECT_LE(capped->points.size(), 50u);
  uint64_t total = 0;
  for (const HistoryPoint& p : capped->points) total += p.count;
  EXPECT_EQ(total, 600u);

  // Machine states: every change, and the current one is the last sent.
  auto history = store->state_history({}, 0, 1e11);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), sink.states.size());
  auto current = store->current_states();
  ASSERT_TRUE(current);
  ASSERT_EQ(current->size(), 2u);
  for (const StoredState& s : *current) {
    const StateChange* last = nullptr;
    for (const StateChange& c : sink.states) {
      if (sanitize_topic_level(c.machine) == s.machine) last = &c;
    }
    ASSERT_TRUE(last) << s.machine;
    EXPECT_EQ(s.state, last->state) << s.machine;
    EXPECT_EQ(s.ts, last->ts) << s.machine;
  }
}

// The same path through the officina binary: `twin ingest` in the background,
// `twin live` on the demo plant, then `twin telemetry` on what was stored.
TEST(MqttLive, CommandLineLiveIngestAndQuery) {
  REQUIRE_MOSQUITTO(binary);
  test::TempDir dir;
  TestBroker broker(binary, dir.path());
  ASSERT_TRUE(broker.start());
  const std::string officina = test::officina_binary(), url = "mqtt://127.0.0.1:" + std::to_string(broker.port());
  const std::string store = dir.path("data/telemetry.db");
  const std::string id = "officina-test-cli-" + std::to_string(getpid());

  std::atomic<bool> subscribed{false};
  std::string ingest_output;
  std::thread ingest([&] {
    std::string command = officina + " --log-level info twin ingest --broker " + url + " --store " + store +
                          " --client-id " + id + " --duration 8s --json 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return;
    char line[4096];
    while (fgets(line, sizeof line, pipe)) {
      ingest_output += line;
      if (ingest_output.find("subscribed to officina/#") != std::string::npos) subscribed = true;
    }
    pclose(pipe);
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();  // bounded: the ingester stops itself after 8 s
    }
  } joiner{ingest};
  ASSERT_TRUE(wait_for([&] { return subscribed.load(); }, 5000ms)) << broker.log_text();

  std::string live_output;
  {
    std::string command = officina + " twin live " + OFFICINA_SOURCE_DIR +
                          "/examples/plants/demo-packaging-line.yaml --broker " + url +
                          " --speed 50000 --duration 1d --seed 3 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_TRUE(pipe);
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) live_output.append(buffer, n);
    int status = pclose(pipe);
    ASSERT_EQ(WEXITSTATUS(status), 0) << live_output;
  }
  // "live: 1d simulated in 1.7 s: 864 readings, 886 state changes; 1750 messages acknowledged, ..."
  unsigned long long readings = 0, states = 0, acknowledged = 0;
  size_t at = live_output.find("readings");
  ASSERT_NE(at, std::string::npos) << live_output;
  ASSERT_EQ(std::sscanf(live_output.c_str() + live_output.rfind(": ", at) + 2,
                        "%llu readings, %llu state changes; %llu messages acknowledged", &readings, &states, &acknowledged),
            3)
      << live_output;
  EXPECT_EQ(acknowledged, readings + states);
  ingest.join();
  size_t brace = ingest_output.find('{');
  ASSERT_NE(brace, std::string::npos) << ingest_output;
  auto counters = parse_json(ingest_output.substr(brace), "ingest --json");
  ASSERT_TRUE(counters) << ingest_output;
  EXPECT_EQ((*counters)["accepted"].get<unsigned long long>(), acknowledged) << ingest_output;
  EXPECT_EQ((*counters)["rejected"].get<unsigned long long>(), 0u);

  FILE* pipe = popen((officina + " twin telemetry --store " + store + " latest --json").c_str(), "r");
  ASSERT_TRUE(pipe);
  std::string latest;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) latest.append(buffer, n);
  pclose(pipe);
  auto rows = parse_json(latest, "telemetry latest");
  ASSERT_TRUE(rows) << latest;
  EXPECT_EQ(rows->size(), 5u);  // the demo's five sensors
}

}  // namespace
}  // namespace officina::twin
