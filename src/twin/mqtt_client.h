// A small MQTT 3.1.1 client over libmosquitto for live telemetry. It owns one
// I/O thread that connects, reconnects with exponential backoff after any
// failure (broker down, connection lost, CONNACK refused), runs the network
// loop and calls an MqttHandler. Every libmosquitto call happens on that
// thread, so handlers need no locking against the client; they do need it
// against the threads that feed them. A fresh libmosquitto session is made
// per connection: what was in flight when a connection died is the handler's
// to resend (the publisher keeps its own outbox), never sent twice by both.
// Only plain TCP (mqtt://); SIGPIPE is blocked on the I/O thread so a broker
// that vanishes mid-write costs an error code, not the process.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/error.h"

struct mosquitto;
struct mosquitto_message;

namespace officina::twin {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 1883;
};

// "mqtt://HOST:PORT", "mqtt://HOST" (port 1883), "HOST:PORT" or "HOST";
// "[::1]:1883" for IPv6. Fails naming the URL on other schemes (mqtts and ws
// are not supported) and on ports outside 1..65535.
Result<BrokerAddress> parse_broker_url(std::string_view url);

struct MqttClientOptions {
  BrokerAddress broker;
  std::string client_id;       // required when clean_session is false
  bool clean_session = true;   // false: the broker keeps subscriptions and queued QoS 1 messages while away
  int keepalive_s = 10;
  double min_backoff_s = 0.1;  // first wait after a failure, doubled up to max_backoff_s
  double max_backoff_s = 5;
  int loop_timeout_ms = 10;    // longest wait for network traffic before on_tick
};

class MqttClient;

// Callbacks, all on the client's I/O thread.
class MqttHandler {
 public:
  virtual ~MqttHandler() = default;
  // The broker accepted the connection (CONNACK 0): subscribe here.
  virtual void on_connected(MqttClient& client) {}
  // The connection is gone; unacknowledged publishes will never be acknowledged.
  virtual void on_disconnected(MqttClient& client) {}
  virtual void on_message(MqttClient& client, std::string_view topic, std::string_view payload) {}
  // A QoS 1 publish was acknowledged (PUBACK) by the broker.
  virtual void on_published(MqttClient& client, int mid) {}
  // After every turn of the loop (about every loop_timeout_ms), and about every
  // 50 ms while waiting to reconnect: send queued messages, flush batches.
  virtual void on_tick(MqttClient& client) {}
};

class MqttClient {
 public:
  MqttClient(MqttClientOptions options, MqttHandler& handler);
  ~MqttClient();  // stop()
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Starts the I/O thread; the first connection is tried at once. Any thread.
  void start();
  // Disconnects cleanly (DISCONNECT sent when connected) and joins the I/O
  // thread. No handler call happens after it returns. Any thread; idempotent.
  void stop();

  // I/O thread only (inside handler callbacks). kSent sets *mid; kRetry: not
  // connected (or the connection is failing), try again later; kInvalid: this
  // message can never be sent (a topic that is not UTF-8 or holds a wildcard,
  // a payload over the MQTT limit), *error says why.
  enum class PublishStatus { kSent, kRetry, kInvalid };
  PublishStatus publish(std::string_view topic, std::string_view payload, int qos, int* mid, std::string* error = nullptr);
  Result<void> subscribe(const std::string& filter, int qos);

  // Any thread.
  bool connected() const { return connected_.load(); }
  uint64_t connections() const { return connections_.load(); }  // CONNACKs accepted so far
  const MqttClientOptions& options() const { return options_; }

 private:
  void run();
  bool connect_once();  // true after a session that reached CONNACK
  void wait_backoff(double seconds);
  static void on_connect_cb(mosquitto*, void* self, int rc);
  static void on_disconnect_cb(mosquitto*, void* self, int rc);
  static void on_message_cb(mosquitto*, void* self, const mosquitto_message* message);
  static void on_publish_cb(mosquitto*, void* self, int mid);

  MqttClientOptions options_;
  MqttHandler& handler_;
  mosquitto* mosq_ = nullptr;  // I/O thread only
  bool session_over_ = false;  // I/O thread only: CONNACK refused, disconnected or timed out
  uint64_t failures_in_row_ = 0;  // I/O thread only: for quieter logs
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connections_{0};
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
};

}  // namespace officina::twin
