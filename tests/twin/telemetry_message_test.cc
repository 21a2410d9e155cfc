// The live telemetry topic scheme and payloads: sanitizing names into topic
// levels, taking topics apart, and validating hostile payloads, each reason.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "twin/telemetry_message.h"
#include "twin/telemetry_topic.h"

namespace officina::twin {
namespace {

TEST(TelemetryTopic, SanitizesNamesIntoSafeLevels) {
  EXPECT_EQ(sanitize_topic_level("forno-verniciatura"), "forno-verniciatura");
  EXPECT_EQ(sanitize_topic_level("Imballaggi Emiliani - linea telai"), "Imballaggi_Emiliani_-_linea_telai");
  EXPECT_EQ(sanitize_topic_level("a/b+c#d"), "a_b_c_d");
  EXPECT_EQ(sanitize_topic_level("qualità"), "qualit_");  // one '_' per UTF-8 character
  EXPECT_EQ(sanitize_topic_level("°C"), "_C");
  EXPECT_EQ(sanitize_topic_level(""), "_");
  EXPECT_EQ(sanitize_topic_level("state"), "state_");  // reserved for the status topic
  EXPECT_EQ(sanitize_topic_level(std::string(500, 'x')).size(), kMaxTopicLevel);
  for (std::string name : {"Linea 1/α", "state", "x\ny", "#"}) {
    std::string once = sanitize_topic_level(name);
    EXPECT_EQ(sanitize_topic_level(once), once) << name;
  }
}

TEST(TelemetryTopic, BuildsAndParsesTopics) {
  EXPECT_EQ(telemetry_topic("Demo Plant", "telai", "forno", "vibrazione_rms"), "officina/Demo_Plant/telai/forno/vibrazione_rms");
  EXPECT_EQ(telemetry_topic("p", "l", "m"), "officina/p/l/m/state");
  EXPECT_EQ(telemetry_topic("p", "l", "m", "state"), "officina/p/l/m/state_");
  EXPECT_EQ(telemetry_filter(), "officina/#");
  EXPECT_EQ(telemetry_filter("Demo Plant"), "officina/Demo_Plant/#");

  auto t = parse_telemetry_topic("officina/p/l/m/s");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->plant, "p");
  EXPECT_EQ(t->line, "l");
  EXPECT_EQ(t->machine, "m");
  EXPECT_EQ(t->sensor, "s");
  EXPECT_FALSE(t->is_state());
  auto s = parse_telemetry_topic("officina/p/l/m/state");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->is_state());
  EXPECT_TRUE(parse_telemetry_topic("officina/Linea 1/l/mäschine/s"));  // other publishers need not sanitize

  for (const char* bad : {"officina/p/l/m", "officina/p/l/m/s/x", "other/p/l/m/s", "officina//l/m/s", "officina/p/l/m/",
                          "/officina/p/l/m", "", "officina/p/l/+/s", "officina/p/l/#/s", "officina/p/l/m/s\x01"}) {
    EXPECT_FALSE(parse_telemetry_topic(bad)) << bad;
  }
  EXPECT_FALSE(parse_telemetry_topic("officina/p/l/m/" + std::string(kMaxTopicLevel + 1, 's')));
  EXPECT_FALSE(parse_telemetry_topic("officina/p/l/\xff\xfe/s"));      // not UTF-8
  EXPECT_FALSE(parse_telemetry_topic("officina/p/l/\xed\xa0\x80/s"));  // a surrogate
  EXPECT_FALSE(parse_telemetry_topic("officina/p/l/\xc0\xaf/s"));      // overlong '/'
}

TEST(TelemetryMessage, ReadingRoundTripsExactly) {
  Reading r{"Demo Plant", "telai", "forno", "vibrazione_rms", 1718000000.123456789, 4.6100000000000003, "mm/s"};
  DecodedTelemetry d = decode_telemetry(reading_topic(r), reading_payload(r));
  ASSERT_TRUE(d.reading) << (d.reject ? telemetry_reject_name(*d.reject) : "state");
  EXPECT_EQ(d.reading->plant, "Demo_Plant");
  EXPECT_EQ(d.reading->machine, "forno");
  EXPECT_EQ(d.reading->sensor, "vibrazione_rms");
  EXPECT_EQ(d.reading->ts, r.ts);  // bit-exact: duplicates must hit the unique key
  EXPECT_EQ(d.reading->value, r.value);
  EXPECT_EQ(d.reading->unit, "mm/s");

  StateChange c{"p", "l", "m", 1718000001.5, MachineStatus::kBlocked};
  EXPECT_EQ(state_payload(c), R"({"state":"blocked","ts":1718000001.5})");
  DecodedTelemetry e = decode_telemetry(state_topic(c), state_payload(c));
  ASSERT_TRUE(e.state);
  EXPECT_EQ(e.state->state, MachineStatus::kBlocked);
  EXPECT_EQ(e.state->ts, c.ts);
  for (MachineStatus s : {MachineStatus::kRunning, MachineStatus::kIdle, MachineStatus::kBlocked, MachineStatus::kStarved,
                          MachineStatus::kDown, MachineStatus::kMaintenance}) {
    EXPECT_EQ(parse_machine_status(machine_status_name(s)), s);
  }
}

TEST(TelemetryMessage, AcceptsIntegersAndMissingUnit) {
  DecodedTelemetry d = decode_telemetry("officina/p/l/m/s", R"({"ts": 1718000000, "value": 7})");
  ASSERT_TRUE(d.reading);
  EXPECT_EQ(d.reading->value, 7);
  EXPECT_EQ(d.reading->unit, "");
  EXPECT_TRUE(decode_telemetry("officina/p/l/m/s", R"({"ts": 0, "value": -1.5e3, "unit": null, "extra": [1]})").reading);
}

std::string reject_of(std::string_view topic, std::string_view payload) {
  DecodedTelemetry d = decode_telemetry(topic, payload);
  if (!d.reject) return "accepted";
  return std::string(telemetry_reject_name(*d.reject));
}

TEST(TelemetryMessage, RejectsHostilePayloadsWithTheirReason) {
  const std::string t = "officina/p/l/m/s", st = "officina/p/l/m/state";
  EXPECT_EQ(reject_of(t, std::string(kMaxTelemetryPayload + 1, ' ')), "oversized");
  EXPECT_EQ(reject_of("officina/p/l/m", R"({"ts":1,"value":1})"), "bad_topic");
  EXPECT_EQ(reject_of("officina/p/l/m/s/x", R"({"ts":1,"value":1})"), "bad_topic");
  EXPECT_EQ(reject_of(t, "not json"), "malformed_json");
  EXPECT_EQ(reject_of(t, ""), "malformed_json");
  EXPECT_EQ(reject_of(t, std::string("\x00\xff\xfe\x80garbage\x01", 12)), "malformed_json");
  EXPECT_EQ(reject_of(t, "[1, 2, 3]"), "malformed_json");
  EXPECT_EQ(reject_of(t, "42"), "malformed_json");
  EXPECT_EQ(reject_of(t, "{\"ts\":1,\"value\":1,\"unit\":\"\xff\"}"), "malformed_json");  // invalid UTF-8
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":1)"), "malformed_json");                   // truncated
  EXPECT_EQ(reject_of(t, std::string(30000, '[') + std::string(30000, ']')), "malformed_json");  // deep nesting
  EXPECT_EQ(reject_of(t, R"({"ts":1,"unit":"bar"})"), "missing_value");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":"12.5"})"), "non_numeric_value");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":true})"), "non_numeric_value");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":null})"), "non_numeric_value");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":[1]})"), "non_numeric_value");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":1e999})"), "malformed_json");  // the parser refuses numbers past double
  EXPECT_EQ(reject_of(t, R"({"value":1})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, R"({"ts":"now","value":1})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, R"({"ts":-5,"value":1})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, R"({"ts":1e12,"value":1})"), "bad_timestamp");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":1,"unit":7})"), "bad_unit");
  EXPECT_EQ(reject_of(t, R"({"ts":1,"value":1,"unit":")" + std::string(100, 'u') + "\"}"), "bad_unit");
  EXPECT_EQ(reject_of(st, R"({"ts":1,"state":"exploded"})"), "bad_state");
  EXPECT_EQ(reject_of(st, R"({"ts":1})"), "bad_state");
  EXPECT_EQ(reject_of(st, R"({"ts":1,"state":3})"), "bad_state");
  EXPECT_EQ(reject_of(st, R"({"state":"running"})"), "bad_timestamp");
  EXPECT_EQ(reject_of(st, R"({"ts":1,"state":"running"})"), "accepted");
  // Every reason has its own name: they are the counters' keys.
  std::set<std::string> names;
  for (TelemetryReject r : kTelemetryRejects) names.insert(std::string(telemetry_reject_name(r)));
  EXPECT_EQ(names.size(), kTelemetryRejectCount);
}

}  // namespace
}  // namespace officina::twin
