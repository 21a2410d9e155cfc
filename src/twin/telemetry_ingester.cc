#include "twin/telemetry_ingester.h"

#include <chrono>

#include "base/log.h"
#include "twin/telemetry_topic.h"

namespace officina::twin {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint64_t IngestCounters::rejected_total() const {
  uint64_t total = 0;
  for (const auto& [reason, count] : rejected) total += count;
  return total;
}

Result<std::unique_ptr<TelemetryIngester>> TelemetryIngester::open(const std::string& store_path, IngestOptions options) {
  OFFICINA_TRY(auto store, TimeseriesStore::open(store_path));
  if (!options.plant.empty()) options.plant = sanitize_topic_level(options.plant);
  if (options.mqtt.client_id.empty()) {
    options.mqtt.client_id = options.plant.empty() ? "officina-ingest" : "officina-ingest-" + options.plant;
  }
  return std::unique_ptr<TelemetryIngester>(new TelemetryIngester(std::move(store), std::move(options)));
}

TelemetryIngester::TelemetryIngester(TimeseriesStore store, IngestOptions options)
    : options_(std::move(options)), store_(std::move(store)), client_(options_.mqtt, *this) {}

TelemetryIngester::~TelemetryIngester() { stop(); }

void TelemetryIngester::start() {
  apply_retention();
  client_.start();
}

void TelemetryIngester::stop() {
  client_.stop();
  if (auto ok = flush(); !ok) spdlog::error("ingest: {}", ok.error().message);
}

IngestCounters TelemetryIngester::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void TelemetryIngester::on_connected(MqttClient& client) {
  const std::string filter = telemetry_filter(options_.plant);
  if (auto ok = client.subscribe(filter, 1); !ok) spdlog::error("ingest: {}", ok.error().message);
  else spdlog::info("ingest: subscribed to {} as '{}'", filter, options_.mqtt.client_id);
}

void TelemetryIngester::on_message(MqttClient&, std::string_view topic, std::string_view payload) {
  ingest(topic, payload);
}

void TelemetryIngester::ingest(std::string_view topic, std::string_view payload) {
  DecodedTelemetry d = decode_telemetry(topic, payload);
  std::lock_guard lock(mutex_);
  ++counters_.received;
  if (d.reject) {
    std::string reason(telemetry_reject_name(*d.reject));
    ++counters_.rejected[reason];
    ++pending_rejects_[reason];
    return;
  }
  const std::string& plant = d.reading ? d.reading->plant : d.state ? d.state->plant : d.health->plant;
  if (!options_.plant.empty() && plant != options_.plant) {
    ++counters_.other_plant;
    return;
  }
  const size_t pending = readings_.size() + states_.size() + health_.size();
  if (pending == 0) batch_started_ = steady_seconds();
  if (pending >= options_.max_pending) {
    ++counters_.store_error;  // the store has been failing for a long time
    return;
  }
  if (d.reading) readings_.push_back(std::move(*d.reading));
  else if (d.state) states_.push_back(std::move(*d.state));
  else health_.push_back(std::move(*d.health));
}

Result<void> TelemetryIngester::flush() {
  if (readings_.empty() && states_.empty() && health_.empty() && pending_rejects_.empty()) return {};
  auto written = store_.write_batch(StoreBatch{readings_, states_, health_, pending_rejects_});
  if (!written) return std::unexpected(written.error());
  std::lock_guard lock(mutex_);
  counters_.accepted += written->readings_added + written->states_added + written->health_added;
  counters_.duplicate += written->readings_duplicate + written->states_duplicate + written->health_duplicate;
  readings_.clear();
  states_.clear();
  health_.clear();
  pending_rejects_.clear();
  return {};
}

void TelemetryIngester::on_tick(MqttClient&) {
  const double now = steady_seconds();
  const size_t pending = readings_.size() + states_.size() + health_.size();
  const bool due = pending >= options_.batch_size || (now - batch_started_ >= options_.batch_interval_s);
  if ((pending > 0 || !pending_rejects_.empty()) && due && now >= retry_after_) {
    if (auto ok = flush(); !ok) {
      spdlog::error("ingest: {} (retrying in 1 s; {} messages pending)", ok.error().message, pending);
      retry_after_ = now + 1;
    }
  }
  if (now >= next_retention_) apply_retention();
}

void TelemetryIngester::apply_retention() {
  next_retention_ = steady_seconds() + options_.retention_interval_s;
  if (options_.retention_s <= 0) return;
  auto deleted = store_.delete_before(unix_seconds() - options_.retention_s);
  if (!deleted) {
    spdlog::error("ingest: {}", deleted.error().message);
    return;
  }
  std::lock_guard lock(mutex_);
  counters_.retention_deleted += *deleted;
}

}  // namespace officina::twin
