// The telemetry time-series store: sensor readings, machine status changes
// and health estimates in one SQLite file (WAL mode), written by the ingester
// in batched transactions and read by the twin, the CLI and the copilot.
//   readings(plant, line, machine, sensor, ts, value, unit)   unique per (plant, line, machine, sensor, ts),
//                                                               indexed on (machine, sensor, ts)
//   latest_readings(...)    the newest reading per (plant, line, machine, sensor)
//   machine_states(plant, line, machine, ts, state)           unique per (plant, line, machine, ts)
//   current_states(...)     the newest status per machine
//   machine_health(plant, line, machine, ts, health_index, rul, rul_lo, rul_hi)
//                           unique per (plant, line, machine, ts); RUL in seconds
//   latest_health(...)      the newest health estimate per machine
//   ingest_counters(name, count)   accepted / duplicate / rejected-by-reason totals
// A redelivered message (MQTT QoS 1 may deliver twice) hits the unique key and
// is counted as a duplicate, never stored twice. Retention deletes history
// older than a cutoff; latest_readings, current_states and latest_health keep
// the last known values. Timestamps are unix seconds (double).
// Schema versions (PRAGMA user_version): 1 readings and states, 2 adds the
// health tables. open() migrates an older file in one transaction.
// Errors: every function returns "STORE: what failed: sqlite message" on a
// SQLite error (locked beyond the 5 s busy timeout, disk full, corrupt file).
// Thread-safety: one TimeseriesStore per thread; many processes may read the
// file while one writes (WAL).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "twin/telemetry_message.h"

struct sqlite3;

namespace officina::twin {

// What one write() did.
struct StoreWriteResult {
  uint64_t readings_added = 0, readings_duplicate = 0;
  uint64_t states_added = 0, states_duplicate = 0;
  uint64_t health_added = 0, health_duplicate = 0;
};

// What one write_batch() stores together: counter increments are name -> delta.
struct StoreBatch {
  std::span<const Reading> readings;
  std::span<const StateChange> states;
  std::span<const HealthUpdate> health;
  std::map<std::string, uint64_t> counters;
};

// Empty fields match anything.
struct TelemetryFilter {
  std::string plant, line, machine;
};

struct HistoryQuery {
  TelemetryFilter where;  // machine is required
  std::string sensor;     // required
  double from = -std::numeric_limits<double>::infinity();
  double to = std::numeric_limits<double>::infinity();  // inclusive
  double step = 0;        // > 0: mean/min/max per bucket [k*step, (k+1)*step)
  size_t max_points = 0;  // > 0 and step == 0: buckets chosen so at most this many points come back
};

// A raw reading (count 1, min = max = value) or a bucket (ts = its start).
struct HistoryPoint {
  double ts = 0;
  double value = 0;  // mean over the bucket
  double min = 0, max = 0;
  uint64_t count = 1;
};

struct HistorySeries {
  std::string unit;
  double step = 0;  // the bucket width used (0 = raw readings)
  std::vector<HistoryPoint> points;  // by ts
};

struct StoredState {
  std::string plant, line, machine;
  double ts = 0;
  MachineStatus state = MachineStatus::kIdle;
};

class TimeseriesStore {
 public:
  // Opens or creates the file (its directory must exist) and the schema.
  // Fails on an unreadable file, one that is not SQLite, or a store written
  // by a newer schema version.
  static Result<TimeseriesStore> open(const std::string& path);
  // Opens an existing store only: "PATH: no telemetry store (run `officina twin ingest` first)".
  static Result<TimeseriesStore> open_existing(const std::string& path);

  TimeseriesStore(TimeseriesStore&& other) noexcept;
  TimeseriesStore& operator=(TimeseriesStore&& other) noexcept;
  ~TimeseriesStore();

  // One transaction: readings, states and counter increments (name -> delta)
  // land together or not at all. Counts what it adds as "accepted" and what
  // the unique keys ignore as "duplicate" in the same counters.
  Result<StoreWriteResult> write(std::span<const Reading> readings, std::span<const StateChange> states,
                                 const std::map<std::string, uint64_t>& counters = {});
  // The same with health estimates: everything in one transaction.
  Result<StoreWriteResult> write_batch(const StoreBatch& batch);
  // Deletes readings, status and health history with ts < cutoff; returns rows deleted.
  Result<uint64_t> delete_before(double cutoff);

  // The newest reading per (plant, line, machine, sensor) matching the filter.
  Result<std::vector<Reading>> latest(const TelemetryFilter& where = {}) const;
  // Readings of one sensor in [from, to], raw or downsampled. "history: --machine and --sensor are required" when unset.
  Result<HistorySeries> history(const HistoryQuery& query) const;
  // The newest status per machine matching the filter.
  Result<std::vector<StoredState>> current_states(const TelemetryFilter& where = {}) const;
  // Status changes in [from, to], oldest first.
  Result<std::vector<StoredState>> state_history(const TelemetryFilter& where, double from, double to) const;
  // The newest readings of one sensor of one machine (where.machine is
  // required) with from <= ts <= to, at most n, oldest first.
  Result<std::vector<Reading>> last_readings(const TelemetryFilter& where, const std::string& sensor, size_t n,
                                             double from = -std::numeric_limits<double>::infinity(),
                                             double to = std::numeric_limits<double>::infinity()) const;
  // The newest status change with ts < before whose state is one of states.
  Result<std::optional<StoredState>> last_state_in(const TelemetryFilter& where, std::span<const MachineStatus> states,
                                                   double before = std::numeric_limits<double>::infinity()) const;
  // The oldest status change with ts > after.
  Result<std::optional<StoredState>> first_state_after(const TelemetryFilter& where, double after) const;
  // The newest health estimate per machine matching the filter.
  Result<std::vector<HealthUpdate>> latest_health(const TelemetryFilter& where = {}) const;
  // Health estimates in [from, to], oldest first.
  Result<std::vector<HealthUpdate>> health_history(const TelemetryFilter& where, double from, double to) const;
  // The plants with any reading, status or health estimate, sorted.
  Result<std::vector<std::string>> plants() const;
  // Totals written with write(): "accepted", "duplicate" and one per reject reason seen.
  Result<std::map<std::string, uint64_t>> counters() const;
  Result<uint64_t> reading_count(const TelemetryFilter& where = {}) const;

  const std::string& path() const { return path_; }

 private:
  struct Statements;
  TimeseriesStore(std::string path, sqlite3* db);
  Result<void> prepare();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
};

}  // namespace officina::twin
