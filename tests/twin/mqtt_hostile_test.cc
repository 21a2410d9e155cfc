// Hostile MQTT input: messages that are not JSON, have wrong types, are huge,
// are binary garbage or sit on topics of the wrong depth are counted under
// their reason by the ingester, and the valid ones around them still land.
// Also the broker URL parser. Uses a real mosquitto (mqtt_test_broker.h).
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt_test_broker.h"
#include "test_util.h"
#include "twin/telemetry_publisher.h"

namespace officina::twin {
namespace {

using namespace test_mqtt;

TEST(MqttIngest, HostileMessagesAreCountedAndValidOnesLand) {
  REQUIRE_MOSQUITTO(binary);
  test::TempDir dir;
  TestBroker broker(binary, dir.path());
  ASSERT_TRUE(broker.start());
  const std::string store_path = dir.path("telemetry.db");
  auto ingester = start_ingester(store_path, broker.port());
  ASSERT_TRUE(ingester);
  ASSERT_TRUE(wait_for([&] { return ingester->connected(); }, 5000ms)) << broker.log_text();

  PublisherOptions po;
  po.mqtt = client_options(broker.port(), "officina-test-hostile");
  TelemetryPublisher publisher(po);
  publisher.start();

  const std::string t = "officina/p/l/m/vib", st = "officina/p/l/m/state";
  const std::vector<std::pair<std::string, std::string>> messages = {
      {t, R"({"ts": 1718000000.5, "value": 1.25, "unit": "mm/s"})"},
      {t, "not json at all"},
      {t, std::string("\x00\x01\xff\xfe\xfd binary \x80\x81", 16)},
      {t, std::string(20000, '[')},
      {t, R"({"ts": 1718000001, "unit": "mm/s"})"},
      {t, R"({"ts": 1718000001, "value": "1.5"})"},
      {t, R"({"ts": 1718000001, "value": {"v": 1}})"},
      {t, R"({"value": 1.5})"},
      {t, R"({"ts": "yesterday", "value": 1.5})"},
      {t, R"({"ts": 1718000001, "value": 1.5, "unit": ["mm", "s"]})"},
      {t, R"({"ts": 1718000001, "value": 1.5, "pad": ")" + std::string(100 * 1024, 'x') + "\"}"},
      {"officina/p/l/m", R"({"ts": 1718000001, "value": 1.5})"},
      {"officina/p/l/m/vib/extra", R"({"ts": 1718000001, "value": 1.5})"},
      {"officina/p//m/vib", R"({"ts": 1718000001, "value": 1.5})"},
      {st, R"({"ts": 1718000001, "state": "melting"})"},
      // These two never leave the publisher (libmosquitto refuses the topic)
      // and must not wedge its outbox.
      {"officina/p/l/\xff/vib", R"({"ts": 1718000001, "value": 1.5})"},
      {"officina/p/l/+/vib", R"({"ts": 1718000001, "value": 1.5})"},
      {t, R"({"ts": 1718000002, "value": 2.5, "unit": "mm/s"})"},
      {st, R"({"ts": 1718000002, "state": "down"})"},
      {t, R"({"ts": 1718000002, "value": 2.5, "unit": "mm/s"})"},  // a duplicate
  };
  for (const auto& [topic, payload] : messages) ASSERT_TRUE(publisher.enqueue(topic, payload));
  ASSERT_TRUE(publisher.flush(10)) << publisher.stats().buffered << " left";
  EXPECT_EQ(publisher.stats().invalid, 2u);

  const uint64_t delivered = messages.size() - 2;
  ASSERT_TRUE(wait_for([&] { return ingester->counters().received >= delivered; }, 10000ms))
      << ingester->counters().received << " of " << delivered;
  ingester->stop();
  publisher.stop();
  IngestCounters c = ingester->counters();
  EXPECT_EQ(c.received, delivered);
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.duplicate, 1u);
  EXPECT_EQ(c.rejected["malformed_json"], 3u);
  EXPECT_EQ(c.rejected["missing_value"], 1u);
  EXPECT_EQ(c.rejected["non_numeric_value"], 2u);
  EXPECT_EQ(c.rejected["bad_timestamp"], 2u);
  EXPECT_EQ(c.rejected["bad_unit"], 1u);
  EXPECT_EQ(c.rejected["oversized"], 1u);
  EXPECT_EQ(c.rejected["bad_topic"], 3u);
  EXPECT_EQ(c.rejected["bad_state"], 1u);
  EXPECT_EQ(c.rejected_total(), 14u);

  auto store = TimeseriesStore::open_existing(store_path);
  ASSERT_TRUE(store);
  auto series = store->history(HistoryQuery{{"p", "l", "m"}, "vib"});
  ASSERT_TRUE(series);
  ASSERT_EQ(series->points.size(), 2u);
  EXPECT_EQ(series->points[0].value, 1.25);
  EXPECT_EQ(series->points[1].value, 2.5);
  auto states = store->current_states();
  ASSERT_TRUE(states);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].state, MachineStatus::kDown);
  auto counters = store->counters();
  ASSERT_TRUE(counters);
  EXPECT_EQ((*counters)["bad_topic"], 3u);
  EXPECT_EQ((*counters)["accepted"], 3u);
}

TEST(MqttBrokerUrl, ParsesAndRejects) {
  auto a = parse_broker_url("mqtt://127.0.0.1:1884");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 1884);
  EXPECT_EQ(parse_broker_url("mqtt://broker.local")->port, 1883);
  EXPECT_EQ(parse_broker_url("localhost:2000")->port, 2000);
  EXPECT_EQ(parse_broker_url("mqtt://[::1]:1885/")->host, "::1");
  for (const char* bad : {"mqtts://h:8883", "ws://h", "mqtt://", "mqtt://h:0", "mqtt://h:70000", "mqtt://h:x",
                          "mqtt://h:", "mqtt://user@h"}) {
    EXPECT_FALSE(parse_broker_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace officina::twin
