#include "twin/mqtt_client.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include "base/log.h"

namespace officina::twin {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string describe(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

}  // namespace

Result<BrokerAddress> parse_broker_url(std::string_view url) {
  std::string_view rest = url;
  if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    std::string_view name = rest.substr(0, scheme);
    if (name != "mqtt" && name != "tcp") {
      return fail("--broker '{}': unsupported scheme '{}' (use mqtt://HOST:PORT; TLS is not supported yet)", url, name);
    }
    rest.remove_prefix(scheme + 3);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  BrokerAddress out;
  std::string_view port;
  if (rest.starts_with('[')) {  // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("--broker '{}': unterminated '[' in the host", url);
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(':')) port = rest.substr(1);
    else if (!rest.empty()) return fail("--broker '{}': unexpected text after the host", url);
  } else {
    size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty() || out.host.find_first_of("/@ ") != std::string::npos) {
    return fail("--broker '{}': expected mqtt://HOST:PORT", url);
  }
  if (!port.empty() || rest.ends_with(':')) {
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return fail("--broker '{}': port must be a number from 1 to 65535", url);
    }
    out.port = value;
  }
  return out;
}

MqttClient::MqttClient(MqttClientOptions options, MqttHandler& handler)
    : options_(std::move(options)), handler_(handler) {}

MqttClient::~MqttClient() { stop(); }

void MqttClient::start() {
  if (thread_.joinable()) return;
  init_library();
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void MqttClient::stop() {
  {
    std::lock_guard lock(wait_mutex_);
    stop_ = true;
  }
  wait_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MqttClient::run() {
  // A write to a socket the broker closed raises SIGPIPE on this thread;
  // blocked, it leaves write() to fail with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  double backoff = options_.min_backoff_s;
  while (!stop_) {
    bool reached = connect_once();
    if (stop_) break;
    if (reached) backoff = options_.min_backoff_s;
    wait_backoff(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff_s);
  }
}

bool MqttClient::connect_once() {
  const char* id = options_.client_id.empty() ? nullptr : options_.client_id.c_str();
  mosq_ = mosquitto_new(id, options_.clean_session, this);
  if (!mosq_) {
    spdlog::error("mqtt: cannot create a client (client id '{}'): {}", options_.client_id, std::strerror(errno));
    return false;
  }
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set(mosq_, 0);  // handlers window their own publishes
  mosquitto_connect_callback_set(mosq_, &MqttClient::on_connect_cb);
  mosquitto_disconnect_callback_set(mosq_, &MqttClient::on_disconnect_cb);
  mosquitto_message_callback_set(mosq_, &MqttClient::on_message_cb);
  mosquitto_publish_callback_set(mosq_, &MqttClient::on_publish_cb);
  session_over_ = false;
  bool reached = false;
  const BrokerAddress& b = options_.broker;
  // Asynchronous: an unreachable host must not hold up stop() for a TCP timeout.
  int rc = mosquitto_connect_async(mosq_, b.host.c_str(), b.port, options_.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options_.keepalive_s);
    while (!stop_ && !session_over_) {
      rc = mosquitto_loop(mosq_, options_.loop_timeout_ms, 1);
      reached = reached || connected_;
      handler_.on_tick(*this);
      if (rc != MOSQ_ERR_SUCCESS) break;
      if (!connected_ && std::chrono::steady_clock::now() > deadline) {
        rc = MOSQ_ERR_TIMEOUT;
        break;
      }
    }
    if (reached && rc != MOSQ_ERR_SUCCESS) spdlog::warn("mqtt: connection to {}:{} lost: {}", b.host, b.port, describe(rc));
    if (stop_ && connected_) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop(mosq_, options_.loop_timeout_ms, 1);
    }
  }
  if (!reached && !stop_) {
    uint64_t n = ++failures_in_row_;
    if ((n == 1 || n % 20 == 0) && rc != MOSQ_ERR_SUCCESS) spdlog::warn("mqtt: cannot connect to {}:{}: {} (retrying)", b.host, b.port, describe(rc));
  }
  if (connected_) {
    connected_ = false;
    handler_.on_disconnected(*this);
  }
  if (reached) failures_in_row_ = 0;
  mosquitto_destroy(mosq_);
  mosq_ = nullptr;
  return reached;
}

void MqttClient::wait_backoff(double seconds) {
  auto until = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    {
      std::unique_lock lock(wait_mutex_);
      wait_cv_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)),
                        [this] { return stop_.load(); });
    }
    handler_.on_tick(*this);
  }
}

MqttClient::PublishStatus MqttClient::publish(std::string_view topic, std::string_view payload, int qos, int* mid,
                                              std::string* error) {
  if (!mosq_ || !connected_) return PublishStatus::kRetry;
  std::string t(topic);
  int rc = payload.size() > static_cast<size_t>(MQTT_MAX_PAYLOAD)
      ? MOSQ_ERR_PAYLOAD_SIZE
      : mosquitto_publish(mosq_, mid, t.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false);
  switch (rc) {
    case MOSQ_ERR_SUCCESS: return PublishStatus::kSent;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
    case MOSQ_ERR_QOS_NOT_SUPPORTED:
      if (error) *error = fmt::format("mqtt: cannot publish to '{}': {}", t, describe(rc));
      return PublishStatus::kInvalid;
    default:
      if (error) *error = fmt::format("mqtt: publishing to '{}': {}", t, describe(rc));
      return PublishStatus::kRetry;
  }
}

Result<void> MqttClient::subscribe(const std::string& filter, int qos) {
  if (!mosq_ || !connected_) return fail("mqtt: not connected");
  int rc = mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS) return fail("mqtt: subscribing to '{}': {}", filter, describe(rc));
  return {};
}

void MqttClient::on_connect_cb(mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttClient*>(self);
  if (rc != 0) {
    spdlog::error("mqtt: broker {}:{} refused the connection: {}", c->options_.broker.host, c->options_.broker.port,
                  mosquitto_connack_string(rc));
    c->session_over_ = true;
    return;
  }
  c->connected_ = true;
  uint64_t n = ++c->connections_;
  if (n > 1) spdlog::info("mqtt: reconnected to {}:{}", c->options_.broker.host, c->options_.broker.port);
  c->handler_.on_connected(*c);
}

void MqttClient::on_disconnect_cb(mosquitto*, void* self, int) {
  // The loop returns an error for a lost connection; a clean one ends the session here.
  static_cast<MqttClient*>(self)->session_over_ = true;
}

void MqttClient::on_message_cb(mosquitto*, void* self, const mosquitto_message* m) {
  auto* c = static_cast<MqttClient*>(self);
  std::string_view payload(m->payload ? static_cast<const char*>(m->payload) : "", static_cast<size_t>(m->payloadlen));
  c->handler_.on_message(*c, m->topic ? m->topic : "", payload);
}

void MqttClient::on_publish_cb(mosquitto*, void* self, int mid) {
  auto* c = static_cast<MqttClient*>(self);
  c->handler_.on_published(*c, mid);
}

}  // namespace officina::twin
