// Test helper: runs a plant as `twin live` does (unpaced, anchored at a fixed
// unix time) and records what it would publish, each message encoded as the
// publisher sends it and decoded as the ingester does, so tests can fill a
// TimeseriesStore with exactly what `twin ingest` would store, without a broker. add_truth_sensors gives every wear state
// a noiseless sensor "truth/<state>" (base 0, gain 1) on the machine's
// fastest tick, so a test knows the simulator's true wear at each tick; the
// extra sensors have streams of their own and do not change the run.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "twin/live_runner.h"
#include "twin/telemetry_message.h"
#include "twin/timeseries_store.h"

namespace officina::twin::test_support {

inline constexpr double kAnchor = 1718000000;  // 2024-06-10, a Monday 06:13 UTC; day 0 of the run

class Recorder : public TelemetrySink {
 public:
  bool on_reading(const Reading& r) override {
    if (r.sensor.rfind("truth/", 0) == 0) {
      truth[r.machine + "/" + r.sensor.substr(6)] = r.value;
      return true;
    }
    DecodedTelemetry d = decode_telemetry(reading_topic(r), reading_payload(r));
    EXPECT_TRUE(d.reading) << reading_topic(r);
    if (d.reading) readings.push_back(*d.reading);
    return true;
  }
  bool on_state(const StateChange& s) override {
    DecodedTelemetry d = decode_telemetry(state_topic(s), state_payload(s));
    EXPECT_TRUE(d.state) << state_topic(s);
    if (d.state) states.push_back(*d.state);
    return true;
  }
  bool on_health(const HealthUpdate& h) override {
    DecodedTelemetry d = decode_telemetry(health_topic(h), health_payload(h));
    EXPECT_TRUE(d.health) << health_topic(h);
    if (d.health) health.push_back(*d.health);
    return true;
  }
  // Writes what a live run published into the store (the truth stays out).
  void write_to(TimeseriesStore& store) const {
    auto ok = store.write_batch(StoreBatch{readings, states, health, {}});
    ASSERT_TRUE(ok) << ok.error().message;
  }
  std::vector<Reading> readings;
  std::vector<StateChange> states;
  std::vector<HealthUpdate> health;
  std::map<std::string, double> truth;  // "machine/wear state" (names as in the plant) -> the last true wear
};

inline Plant add_truth_sensors(Plant plant) {
  for (Line& line : plant.lines) {
    for (Machine& m : line.machines) {
      if (m.sensors.empty()) continue;
      double period = m.sensors[0].period;
      for (const Sensor& s : m.sensors) period = std::min(period, s.period);
      for (size_t g = 0; g < m.degradations.size(); ++g) {
        Sensor s;
        s.name = "truth/" + m.degradations[g].name;
        s.period = period;
        s.gain = 1;
        s.degradation = static_cast<int>(g);
        m.sensors.push_back(s);
      }
    }
  }
  return plant;
}

// Runs the plant for duration simulated seconds and records it.
inline Recorder record_live(const Plant& plant, double duration, uint64_t seed) {
  Recorder rec;
  LiveOptions o;
  o.duration = duration;
  o.speed = 0;
  o.seed = seed;
  o.anchor_unix = kAnchor;
  auto r = run_live(plant, o, rec);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return rec;
}

}  // namespace officina::twin::test_support
