// Ingests live telemetry from MQTT into a TimeseriesStore. Subscribes to
// officina/# (or officina/<plant>/#) with QoS 1 in a persistent session
// (clean_session false, a fixed client id), so the broker keeps what arrives
// while the ingester is away. Every message is validated (decode_telemetry):
// rejects are counted per reason and skipped, never fatal. Valid readings,
// status changes and health estimates are written in batched transactions (every batch_size
// messages or batch_interval_s); the store's unique keys drop QoS 1
// redeliveries. Retention deletes history older than retention_s, checked
// every retention_interval_s.
// Durability: libmosquitto acknowledges a QoS 1 message before it is
// committed, so a crash (not a clean stop) can lose the last batch, at most
// batch_interval_s of data. stop() writes everything received.
// Thread-safety: counters() from any thread; ingest() and flush() only while
// the client is not running (before start(), after stop()).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "twin/mqtt_client.h"
#include "twin/timeseries_store.h"

namespace officina::twin {

struct IngestOptions {
  MqttClientOptions mqtt;  // defaults to clean_session false, client id "officina-ingest[-PLANT]"
  std::string plant;       // only this plant (a topic level, sanitized); empty: all
  double retention_s = 0;  // 0 keeps everything
  double retention_interval_s = 60;
  size_t batch_size = 1000;
  double batch_interval_s = 0.2;
  size_t max_pending = 200000;  // messages held while the store fails; beyond, they are dropped (store_error)
};

struct IngestCounters {
  uint64_t received = 0;
  uint64_t accepted = 0;     // stored (readings, status changes and health estimates)
  uint64_t duplicate = 0;    // already stored: a QoS 1 redelivery
  uint64_t other_plant = 0;  // ignored because of IngestOptions::plant
  uint64_t store_error = 0;  // lost: the store kept failing
  uint64_t retention_deleted = 0;
  std::map<std::string, uint64_t> rejected;  // telemetry_reject_name -> count
  uint64_t rejected_total() const;
};

class TelemetryIngester : private MqttHandler {
 public:
  // Opens (creates) the store; fails as TimeseriesStore::open does.
  static Result<std::unique_ptr<TelemetryIngester>> open(const std::string& store_path, IngestOptions options);
  ~TelemetryIngester() override;  // stop()

  void start();
  // Stops the client, then writes every pending message. Idempotent.
  void stop();

  // Handles one message as if it had arrived from the broker.
  void ingest(std::string_view topic, std::string_view payload);
  // Writes the pending batch now; the store's error when that fails.
  Result<void> flush();

  IngestCounters counters() const;
  bool connected() const { return client_.connected(); }
  const IngestOptions& options() const { return options_; }

 private:
  TelemetryIngester(TimeseriesStore store, IngestOptions options);
  void on_connected(MqttClient& client) override;
  void on_message(MqttClient& client, std::string_view topic, std::string_view payload) override;
  void on_tick(MqttClient& client) override;
  void apply_retention();

  IngestOptions options_;
  TimeseriesStore store_;
  MqttClient client_;
  // Pending batch: I/O thread only.
  std::vector<Reading> readings_;
  std::vector<StateChange> states_;
  std::vector<HealthUpdate> health_;
  std::map<std::string, uint64_t> pending_rejects_;
  double batch_started_ = 0, next_retention_ = 0, retry_after_ = 0;  // steady seconds
  mutable std::mutex mutex_;
  IngestCounters counters_;
};

}  // namespace officina::twin
