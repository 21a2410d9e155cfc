// Publishes live telemetry over MQTT with QoS 1 without losing what it has
// accepted. Messages go into a bounded outbox (FIFO, default 100k) and leave
// it only when the broker acknowledges them (PUBACK). While the broker is
// unreachable the outbox fills; the client reconnects with backoff and sends
// the outbox again in order, oldest first, skipping what was already
// acknowledged. A message may therefore arrive twice (QoS 1 semantics: the
// ingester's unique key drops the copy) but none that was accepted is lost
// while the process lives. When the outbox is full, new messages are refused
// and counted as dropped (the oldest unsent data is kept: it is what the
// broker restart was holding back).
// Thread-safety: enqueue, on_reading, on_state, flush and stats from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "twin/mqtt_client.h"
#include "twin/telemetry_message.h"

namespace officina::twin {

struct PublisherOptions {
  MqttClientOptions mqtt;
  size_t max_buffered = 100000;  // messages in the outbox, sent or not, until acknowledged
  size_t max_inflight = 256;     // published but unacknowledged at once
  int qos = 1;
};

struct PublisherStats {
  uint64_t accepted = 0;      // taken into the outbox
  uint64_t dropped = 0;       // refused: the outbox was full
  uint64_t acknowledged = 0;  // PUBACK received (QoS 0: written)
  uint64_t resent = 0;        // sent again after a reconnect
  uint64_t invalid = 0;       // refused by the MQTT library (topic not UTF-8, payload too big): dropped
  size_t buffered = 0;        // in the outbox now
  size_t max_buffered_seen = 0;
  uint64_t connections = 0;
  bool connected = false;
};

class TelemetryPublisher : public TelemetrySink, private MqttHandler {
 public:
  explicit TelemetryPublisher(PublisherOptions options);
  ~TelemetryPublisher() override;  // stop()

  void start();
  // Waits until the outbox is empty (true), or gives up after timeout_s or
  // when *cancel becomes true (false). Does not stop the client.
  bool flush(double timeout_s, const std::atomic<bool>* cancel = nullptr);
  // Disconnects; what is still in the outbox is lost (see stats().buffered).
  void stop();

  // False when the outbox is full (counted in dropped).
  bool enqueue(std::string topic, std::string payload);
  bool on_reading(const Reading& r) override { return enqueue(reading_topic(r), reading_payload(r)); }
  bool on_state(const StateChange& s) override { return enqueue(state_topic(s), state_payload(s)); }
  bool on_health(const HealthUpdate& h) override { return enqueue(health_topic(h), health_payload(h)); }

  PublisherStats stats() const;

 private:
  struct Outgoing {
    std::string topic, payload;
    bool acknowledged = false;
    bool sent_before = false;  // on an earlier connection
  };
  void on_disconnected(MqttClient& client) override;
  void on_published(MqttClient& client, int mid) override;
  void on_tick(MqttClient& client) override;
  void pop_acknowledged();  // with mutex_ held

  PublisherOptions options_;
  MqttClient client_;
  mutable std::mutex mutex_;
  std::condition_variable drained_;
  std::deque<Outgoing> outbox_;
  uint64_t front_seq_ = 0;   // sequence number of outbox_.front()
  size_t next_send_ = 0;     // index in outbox_ of the next message to send on this connection
  std::unordered_map<int, uint64_t> inflight_;  // mid -> sequence number
  PublisherStats stats_;
};

}  // namespace officina::twin
