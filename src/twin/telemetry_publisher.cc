#include "twin/telemetry_publisher.h"

#include <chrono>

#include "base/log.h"

namespace officina::twin {

TelemetryPublisher::TelemetryPublisher(PublisherOptions options)
    : options_(std::move(options)), client_(options_.mqtt, *this) {}

TelemetryPublisher::~TelemetryPublisher() { stop(); }

void TelemetryPublisher::start() { client_.start(); }

void TelemetryPublisher::stop() { client_.stop(); }

bool TelemetryPublisher::enqueue(std::string topic, std::string payload) {
  std::lock_guard lock(mutex_);
  if (outbox_.size() >= options_.max_buffered) {
    ++stats_.dropped;
    return false;
  }
  outbox_.push_back(Outgoing{std::move(topic), std::move(payload)});
  ++stats_.accepted;
  stats_.max_buffered_seen = std::max(stats_.max_buffered_seen, outbox_.size());
  return true;
}

bool TelemetryPublisher::flush(double timeout_s, const std::atomic<bool>* cancel) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::unique_lock lock(mutex_);
  while (!outbox_.empty()) {
    if (std::chrono::steady_clock::now() >= deadline || (cancel && cancel->load())) return false;
    drained_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return true;
}

PublisherStats TelemetryPublisher::stats() const {
  std::lock_guard lock(mutex_);
  PublisherStats out = stats_;
  out.buffered = outbox_.size();
  out.connections = client_.connections();
  out.connected = client_.connected();
  return out;
}

void TelemetryPublisher::on_tick(MqttClient& client) {
  if (!client.connected()) return;
  // mutex_ is never held across a libmosquitto call, which takes its own
  // locks (and calls on_published under them). Elements of outbox_ stay put
  // while unlocked: other threads only push_back, and only this thread pops.
  while (true) {
    Outgoing* m = nullptr;
    uint64_t seq = 0;
    {
      std::lock_guard lock(mutex_);
      if (next_send_ >= outbox_.size() || inflight_.size() >= options_.max_inflight) break;
      m = &outbox_[next_send_];
      seq = front_seq_ + next_send_;
      if (m->acknowledged) {
        ++next_send_;
        continue;
      }
    }
    int mid = 0;
    std::string error;
    MqttClient::PublishStatus status = client.publish(m->topic, m->payload, options_.qos, &mid, &error);
    if (status == MqttClient::PublishStatus::kRetry) break;  // the loop will notice the lost connection
    std::lock_guard lock(mutex_);
    if (status == MqttClient::PublishStatus::kInvalid) {
      // No broker will ever take it: drop it rather than block the outbox.
      spdlog::warn("{} (dropped)", error);
      ++stats_.invalid;
      m->acknowledged = true;
    } else {
      if (m->sent_before) ++stats_.resent;
      m->sent_before = true;
      if (options_.qos == 0) {
        m->acknowledged = true;
        ++stats_.acknowledged;
      } else {
        inflight_[mid] = seq;
      }
    }
    next_send_ = static_cast<size_t>(seq - front_seq_) + 1;
  }
  std::lock_guard lock(mutex_);
  pop_acknowledged();
}

void TelemetryPublisher::on_published(MqttClient&, int mid) {
  std::lock_guard lock(mutex_);
  auto it = inflight_.find(mid);
  if (it == inflight_.end()) return;
  const uint64_t index = it->second - front_seq_;
  inflight_.erase(it);
  if (index < outbox_.size() && !outbox_[index].acknowledged) {
    outbox_[index].acknowledged = true;
    ++stats_.acknowledged;
  }
  pop_acknowledged();
}

void TelemetryPublisher::on_disconnected(MqttClient&) {
  // Whatever was not acknowledged goes again, in order, on the next connection.
  std::lock_guard lock(mutex_);
  inflight_.clear();
  next_send_ = 0;
}

void TelemetryPublisher::pop_acknowledged() {
  while (!outbox_.empty() && outbox_.front().acknowledged) {
    outbox_.pop_front();
    ++front_seq_;
    if (next_send_ > 0) --next_send_;
  }
  if (outbox_.empty()) drained_.notify_all();
}

}  // namespace officina::twin
