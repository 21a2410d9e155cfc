#include "twin/timeseries_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <utility>

namespace officina::twin {

namespace {

constexpr int kSchemaVersion = 2;
constexpr double kFar = 1e300;  // stands in for infinity in SQL bounds

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS readings(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, sensor TEXT NOT NULL,
  ts REAL NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '',
  UNIQUE(plant, line, machine, sensor, ts));
CREATE INDEX IF NOT EXISTS readings_machine_sensor_ts ON readings(machine, sensor, ts);
CREATE INDEX IF NOT EXISTS readings_ts ON readings(ts);
CREATE TABLE IF NOT EXISTS latest_readings(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, sensor TEXT NOT NULL,
  ts REAL NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(plant, line, machine, sensor));
CREATE TABLE IF NOT EXISTS machine_states(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL,
  UNIQUE(plant, line, machine, ts));
CREATE INDEX IF NOT EXISTS machine_states_machine_ts ON machine_states(machine, ts);
CREATE INDEX IF NOT EXISTS machine_states_ts ON machine_states(ts);
CREATE TABLE IF NOT EXISTS current_states(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY(plant, line, machine));
CREATE TABLE IF NOT EXISTS ingest_counters(name TEXT PRIMARY KEY, count INTEGER NOT NULL);
)sql";

// Version 2: health estimates of machines under the predictive policy.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS machine_health(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL,
  health_index REAL NOT NULL, rul REAL NOT NULL, rul_lo REAL NOT NULL, rul_hi REAL NOT NULL,
  UNIQUE(plant, line, machine, ts));
CREATE INDEX IF NOT EXISTS machine_health_machine_ts ON machine_health(machine, ts);
CREATE INDEX IF NOT EXISTS machine_health_ts ON machine_health(ts);
CREATE TABLE IF NOT EXISTS latest_health(
  plant TEXT NOT NULL, line TEXT NOT NULL, machine TEXT NOT NULL, ts REAL NOT NULL,
  health_index REAL NOT NULL, rul REAL NOT NULL, rul_lo REAL NOT NULL, rul_hi REAL NOT NULL,
  PRIMARY KEY(plant, line, machine));
)sql";

// Empty filter fields match anything.
constexpr const char* kFilterSql = "(?1 = '' OR plant = ?1) AND (?2 = '' OR line = ?2) AND (?3 = '' OR machine = ?3)";

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  static Result<std::unique_ptr<Statement>> prepare(sqlite3* db, std::string_view sql, std::string_view store) {
    auto s = std::make_unique<Statement>();
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s->stmt_, nullptr) != SQLITE_OK) {
      return fail("{}: preparing a query: {}", store, sqlite3_errmsg(db));
    }
    return s;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, double value) { sqlite3_bind_double(stmt_, i, std::clamp(value, -kFar, kFar)); }
  void bind_int(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  void bind_filter(const TelemetryFilter& where) {
    bind(1, where.plant);
    bind(2, where.line);
    bind(3, where.machine);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::string text(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, i))) : "";
  }
  double real(int i) const { return sqlite3_column_double(stmt_, i); }
  int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Result<void> exec(sqlite3* db, const char* sql, std::string_view store, std::string_view what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return fail("{}: {}: {}", store, what, text);
  }
  return {};
}

MachineStatus status_of(const std::string& name) {
  return parse_machine_status(name).value_or(MachineStatus::kIdle);
}

}  // namespace

struct TimeseriesStore::Statements {
  std::unique_ptr<Statement> insert_reading, upsert_latest, insert_state, upsert_current, insert_health, upsert_health,
      add_counter;
};

TimeseriesStore::TimeseriesStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

TimeseriesStore::TimeseriesStore(TimeseriesStore&& other) noexcept
    : path_(std::move(other.path_)), db_(std::exchange(other.db_, nullptr)), statements_(std::move(other.statements_)) {}

TimeseriesStore& TimeseriesStore::operator=(TimeseriesStore&& other) noexcept {
  if (this != &other) {
    statements_.reset();
    if (db_) sqlite3_close(db_);
    path_ = std::move(other.path_);
    db_ = std::exchange(other.db_, nullptr);
    statements_ = std::move(other.statements_);
  }
  return *this;
}

TimeseriesStore::~TimeseriesStore() {
  statements_.reset();  // statements before the connection
  if (db_) sqlite3_close(db_);
}

Result<TimeseriesStore> TimeseriesStore::open_existing(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail("{}: no telemetry store (run `officina twin ingest --store {}` first)", path, path);
  }
  return open(path);
}

Result<TimeseriesStore> TimeseriesStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  TimeseriesStore store(path, db);  // closes db on every path out
  if (rc != SQLITE_OK) return fail("{}: cannot open telemetry store: {}", path, db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);

  OFFICINA_TRY(auto v, Statement::prepare(db, "PRAGMA user_version", path));
  if (v->step() != SQLITE_ROW) return fail("{}: not a telemetry store: {}", path, sqlite3_errmsg(db));
  int64_t found = v->integer(0);
  v.reset();
  if (found > kSchemaVersion) {
    return fail("{}: telemetry store schema {} is newer than this officina understands ({}); upgrade officina", path,
                found, kSchemaVersion);
  }
  // WAL: readers (the CLI, the twin) never block the ingester, and a crash
  // leaves the last committed batch intact.
  OFFICINA_CHECK(exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", path, "enabling WAL"));
  if (found < kSchemaVersion) {
    // A new file, or one an older officina wrote: create what is missing and
    // stamp the version in one transaction, so a crash leaves the old version.
    OFFICINA_CHECK(exec(db, "BEGIN IMMEDIATE", path, "starting the schema migration"));
    auto migrate = [&]() -> Result<void> {
      OFFICINA_CHECK(exec(db, kSchema, path, "creating the schema"));
      OFFICINA_CHECK(exec(db, kSchemaV2, path, "adding the health tables (schema 2)"));
      OFFICINA_CHECK(exec(db, "PRAGMA user_version = 2", path, "setting the schema version"));
      return exec(db, "COMMIT", path, "committing the schema");
    };
    if (auto ok = migrate(); !ok) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return std::unexpected(ok.error());
    }
  }
  OFFICINA_CHECK(store.prepare());
  return store;
}

Result<void> TimeseriesStore::prepare() {
  auto s = std::make_unique<Statements>();
  OFFICINA_TRY(s->insert_reading, Statement::prepare(db_,
      "INSERT OR IGNORE INTO readings(plant, line, machine, sensor, ts, value, unit) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", path_));
  // Only a newer reading replaces the latest: batches may arrive out of order.
  OFFICINA_TRY(s->upsert_latest, Statement::prepare(db_,
      "INSERT INTO latest_readings(plant, line, machine, sensor, ts, value, unit) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT(plant, line, machine, sensor) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
      "unit = excluded.unit WHERE excluded.ts > latest_readings.ts", path_));
  OFFICINA_TRY(s->insert_state, Statement::prepare(db_,
      "INSERT OR IGNORE INTO machine_states(plant, line, machine, ts, state) VALUES(?1, ?2, ?3, ?4, ?5)", path_));
  OFFICINA_TRY(s->upsert_current, Statement::prepare(db_,
      "INSERT INTO current_states(plant, line, machine, ts, state) VALUES(?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(plant, line, machine) DO UPDATE SET ts = excluded.ts, state = excluded.state "
      "WHERE excluded.ts > current_states.ts", path_));
  OFFICINA_TRY(s->insert_health, Statement::prepare(db_,
      "INSERT OR IGNORE INTO machine_health(plant, line, machine, ts, health_index, rul, rul_lo, rul_hi) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", path_));
  OFFICINA_TRY(s->upsert_health, Statement::prepare(db_,
      "INSERT INTO latest_health(plant, line, machine, ts, health_index, rul, rul_lo, rul_hi) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT(plant, line, machine) DO UPDATE SET ts = excluded.ts, health_index = excluded.health_index, "
      "rul = excluded.rul, rul_lo = excluded.rul_lo, rul_hi = excluded.rul_hi WHERE excluded.ts > latest_health.ts", path_));
  OFFICINA_TRY(s->add_counter, Statement::prepare(db_,
      "INSERT INTO ingest_counters(name, count) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET count = count + excluded.count", path_));
  statements_ = std::move(s);
  return {};
}

Result<StoreWriteResult> TimeseriesStore::write(std::span<const Reading> readings, std::span<const StateChange> states,
                                                const std::map<std::string, uint64_t>& counters) {
  return write_batch(StoreBatch{readings, states, {}, counters});
}

Result<StoreWriteResult> TimeseriesStore::write_batch(const StoreBatch& batch) {
  const std::span<const Reading> readings = batch.readings;
  const std::span<const StateChange> states = batch.states;
  StoreWriteResult out;
  OFFICINA_CHECK(exec(db_, "BEGIN IMMEDIATE", path_, "starting a write"));
  auto body = [&]() -> Result<void> {
    Statements& s = *statements_;
    for (const Reading& r : readings) {
      for (Statement* st : {s.insert_reading.get(), s.upsert_latest.get()}) {
        st->reset();
        st->bind(1, r.plant);
        st->bind(2, r.line);
        st->bind(3, r.machine);
        st->bind(4, r.sensor);
        st->bind(5, r.ts);
        st->bind(6, r.value);
        st->bind(7, r.unit);
        if (st->step() != SQLITE_DONE) return fail("{}: writing a reading: {}", path_, sqlite3_errmsg(db_));
        if (st == s.insert_reading.get()) {
          if (sqlite3_changes(db_) == 0) {
            ++out.readings_duplicate;
            break;  // an older copy is already stored, and so is its effect on latest
          }
          ++out.readings_added;
        }
      }
    }
    for (const StateChange& c : states) {
      for (Statement* st : {s.insert_state.get(), s.upsert_current.get()}) {
        st->reset();
        st->bind(1, c.plant);
        st->bind(2, c.line);
        st->bind(3, c.machine);
        st->bind(4, c.ts);
        st->bind(5, machine_status_name(c.state));
        if (st->step() != SQLITE_DONE) return fail("{}: writing a machine state: {}", path_, sqlite3_errmsg(db_));
        if (st == s.insert_state.get()) {
          if (sqlite3_changes(db_) == 0) {
            ++out.states_duplicate;
            break;
          }
          ++out.states_added;
        }
      }
    }
    for (const HealthUpdate& h : batch.health) {
      for (Statement* st : {s.insert_health.get(), s.upsert_health.get()}) {
        st->reset();
        st->bind(1, h.plant);
        st->bind(2, h.line);
        st->bind(3, h.machine);
        st->bind(4, h.ts);
        st->bind(5, h.estimate.health_index);
        st->bind(6, h.estimate.rul);
        st->bind(7, h.estimate.rul_lo);
        st->bind(8, h.estimate.rul_hi);
        if (st->step() != SQLITE_DONE) return fail("{}: writing a health estimate: {}", path_, sqlite3_errmsg(db_));
        if (st == s.insert_health.get()) {
          if (sqlite3_changes(db_) == 0) {
            ++out.health_duplicate;
            break;
          }
          ++out.health_added;
        }
      }
    }
    std::map<std::string, uint64_t> all = batch.counters;
    all["accepted"] += out.readings_added + out.states_added + out.health_added;
    all["duplicate"] += out.readings_duplicate + out.states_duplicate + out.health_duplicate;
    for (const auto& [name, delta] : all) {
      if (delta == 0) continue;
      s.add_counter->reset();
      s.add_counter->bind(1, name);
      s.add_counter->bind_int(2, static_cast<int64_t>(delta));
      if (s.add_counter->step() != SQLITE_DONE) return fail("{}: updating counters: {}", path_, sqlite3_errmsg(db_));
    }
    return exec(db_, "COMMIT", path_, "committing a write");
  };
  if (auto ok = body(); !ok) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return std::unexpected(ok.error());
  }
  return out;
}

Result<uint64_t> TimeseriesStore::delete_before(double cutoff) {
  uint64_t deleted = 0;
  OFFICINA_CHECK(exec(db_, "BEGIN IMMEDIATE", path_, "starting retention"));
  for (const char* sql : {"DELETE FROM readings WHERE ts < ?1", "DELETE FROM machine_states WHERE ts < ?1",
                          "DELETE FROM machine_health WHERE ts < ?1"}) {
    auto st = Statement::prepare(db_, sql, path_);
    if (!st) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return std::unexpected(st.error());
    }
    (*st)->bind(1, cutoff);
    if ((*st)->step() != SQLITE_DONE) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail("{}: retention: {}", path_, message);
    }
    deleted += static_cast<uint64_t>(sqlite3_changes(db_));
  }
  OFFICINA_CHECK(exec(db_, "COMMIT", path_, "committing retention"));
  return deleted;
}

Result<std::vector<Reading>> TimeseriesStore::latest(const TelemetryFilter& where) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, sensor, ts, value, unit FROM latest_readings WHERE {} "
      "ORDER BY plant, line, machine, sensor", kFilterSql), path_));
  st->bind_filter(where);
  std::vector<Reading> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out.push_back(Reading{st->text(0), st->text(1), st->text(2), st->text(3), st->real(4), st->real(5), st->text(6)});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading latest values: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<HistorySeries> TimeseriesStore::history(const HistoryQuery& q) const {
  if (q.where.machine.empty() || q.sensor.empty()) return fail("history: a machine and a sensor are required");
  if (!(q.step == 0 || q.step >= 1e-3)) return fail("history: step must be 0 (raw) or at least 1 ms");
  if (!(q.from <= q.to)) return fail("history: the start of the range is after its end");
  const std::string range = fmt::format("machine = ?3 AND sensor = ?4 AND ts >= ?5 AND ts <= ?6 AND {}", kFilterSql);
  auto bind = [&](Statement& st) {
    st.bind_filter(q.where);
    st.bind(4, q.sensor);
    st.bind(5, q.from);
    st.bind(6, q.to);
  };
  HistorySeries out;
  double step = q.step, origin = 0;  // explicit steps align buckets to the epoch
  {
    OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
        "SELECT COUNT(*), MIN(ts), MAX(ts), (SELECT unit FROM readings WHERE {} ORDER BY ts DESC LIMIT 1) "
        "FROM readings WHERE {}", range, range), path_));
    bind(*st);
    if (st->step() != SQLITE_ROW) return fail("{}: reading history: {}", path_, sqlite3_errmsg(db_));
    const uint64_t count = static_cast<uint64_t>(st->integer(0));
    out.unit = st->text(3);
    if (count == 0) return out;
    if (step == 0 && q.max_points > 0 && count > q.max_points) {
      origin = st->real(1);
      // (1 + 1e-9) keeps the newest reading inside the last of max_points buckets.
      step = std::max((st->real(2) - origin) / static_cast<double>(q.max_points) * (1 + 1e-9), 1e-6);
    }
  }
  out.step = step;
  if (step == 0) {
    OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format("SELECT ts, value FROM readings WHERE {} ORDER BY ts", range), path_));
    bind(*st);
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) out.points.push_back(HistoryPoint{st->real(0), st->real(1), st->real(1), st->real(1), 1});
    if (rc != SQLITE_DONE) return fail("{}: reading history: {}", path_, sqlite3_errmsg(db_));
    return out;
  }
  // ts >= 0 (the ingester rejects negative ones), so CAST truncation is floor.
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT CAST((ts - ?7) / ?8 AS INTEGER) AS b, AVG(value), MIN(value), MAX(value), COUNT(*) "
      "FROM readings WHERE {} GROUP BY b ORDER BY b", range), path_));
  bind(*st);
  st->bind(7, origin);
  st->bind(8, step);
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out.points.push_back(HistoryPoint{origin + static_cast<double>(st->integer(0)) * step, st->real(1), st->real(2),
                                      st->real(3), static_cast<uint64_t>(st->integer(4))});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading history: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<std::vector<StoredState>> TimeseriesStore::current_states(const TelemetryFilter& where) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, state FROM current_states WHERE {} ORDER BY plant, line, machine", kFilterSql), path_));
  st->bind_filter(where);
  std::vector<StoredState> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out.push_back(StoredState{st->text(0), st->text(1), st->text(2), st->real(3), status_of(st->text(4))});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading machine states: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<std::vector<StoredState>> TimeseriesStore::state_history(const TelemetryFilter& where, double from, double to) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, state FROM machine_states WHERE ts >= ?4 AND ts <= ?5 AND {} "
      "ORDER BY ts, plant, line, machine", kFilterSql), path_));
  st->bind_filter(where);
  st->bind(4, from);
  st->bind(5, to);
  std::vector<StoredState> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out.push_back(StoredState{st->text(0), st->text(1), st->text(2), st->real(3), status_of(st->text(4))});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading machine states: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<std::vector<Reading>> TimeseriesStore::last_readings(const TelemetryFilter& where, const std::string& sensor,
                                                            size_t n, double from, double to) const {
  if (where.machine.empty() || sensor.empty()) return fail("last readings: a machine and a sensor are required");
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, sensor, ts, value, unit FROM readings "
      "WHERE machine = ?3 AND sensor = ?4 AND ts >= ?5 AND ts <= ?6 AND {} ORDER BY ts DESC LIMIT ?7", kFilterSql), path_));
  st->bind_filter(where);
  st->bind(4, sensor);
  st->bind(5, from);
  st->bind(6, to);
  st->bind_int(7, static_cast<int64_t>(std::min<size_t>(n, INT64_MAX)));
  std::vector<Reading> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out.push_back(Reading{st->text(0), st->text(1), st->text(2), st->text(3), st->real(4), st->real(5), st->text(6)});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading the last readings: {}", path_, sqlite3_errmsg(db_));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::optional<StoredState>> TimeseriesStore::last_state_in(const TelemetryFilter& where,
                                                                  std::span<const MachineStatus> states, double before) const {
  if (states.empty()) return std::optional<StoredState>{};
  std::string in;  // the names are fixed identifiers (machine_status_name), safe to inline
  for (MachineStatus s : states) in += fmt::format("{}'{}'", in.empty() ? "" : ", ", machine_status_name(s));
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, state FROM machine_states WHERE ts < ?4 AND state IN ({}) AND {} "
      "ORDER BY ts DESC LIMIT 1", in, kFilterSql), path_));
  st->bind_filter(where);
  st->bind(4, before);
  int rc = st->step();
  if (rc == SQLITE_DONE) return std::optional<StoredState>{};
  if (rc != SQLITE_ROW) return fail("{}: reading machine states: {}", path_, sqlite3_errmsg(db_));
  return std::optional<StoredState>(StoredState{st->text(0), st->text(1), st->text(2), st->real(3), status_of(st->text(4))});
}

Result<std::optional<StoredState>> TimeseriesStore::first_state_after(const TelemetryFilter& where, double after) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, state FROM machine_states WHERE ts > ?4 AND {} ORDER BY ts LIMIT 1", kFilterSql), path_));
  st->bind_filter(where);
  st->bind(4, after);
  int rc = st->step();
  if (rc == SQLITE_DONE) return std::optional<StoredState>{};
  if (rc != SQLITE_ROW) return fail("{}: reading machine states: {}", path_, sqlite3_errmsg(db_));
  return std::optional<StoredState>(StoredState{st->text(0), st->text(1), st->text(2), st->real(3), status_of(st->text(4))});
}

namespace {

Result<std::vector<HealthUpdate>> health_rows(Statement& st, sqlite3* db, const std::string& path) {
  std::vector<HealthUpdate> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    out.push_back(HealthUpdate{st.text(0), st.text(1), st.text(2), st.real(3),
                               RulEstimate{st.real(4), st.real(5), st.real(6), st.real(7)}});
  }
  if (rc != SQLITE_DONE) return fail("{}: reading health estimates: {}", path, sqlite3_errmsg(db));
  return out;
}

}  // namespace

Result<std::vector<HealthUpdate>> TimeseriesStore::latest_health(const TelemetryFilter& where) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, health_index, rul, rul_lo, rul_hi FROM latest_health WHERE {} "
      "ORDER BY plant, line, machine", kFilterSql), path_));
  st->bind_filter(where);
  return health_rows(*st, db_, path_);
}

Result<std::vector<HealthUpdate>> TimeseriesStore::health_history(const TelemetryFilter& where, double from, double to) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format(
      "SELECT plant, line, machine, ts, health_index, rul, rul_lo, rul_hi FROM machine_health "
      "WHERE ts >= ?4 AND ts <= ?5 AND {} ORDER BY ts, plant, line, machine", kFilterSql), path_));
  st->bind_filter(where);
  st->bind(4, from);
  st->bind(5, to);
  return health_rows(*st, db_, path_);
}

Result<std::vector<std::string>> TimeseriesStore::plants() const {
  OFFICINA_TRY(auto st, Statement::prepare(db_,
      "SELECT plant FROM latest_readings UNION SELECT plant FROM current_states UNION SELECT plant FROM latest_health "
      "ORDER BY 1", path_));
  std::vector<std::string> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) out.push_back(st->text(0));
  if (rc != SQLITE_DONE) return fail("{}: listing plants: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<std::map<std::string, uint64_t>> TimeseriesStore::counters() const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, "SELECT name, count FROM ingest_counters ORDER BY name", path_));
  std::map<std::string, uint64_t> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) out[st->text(0)] = static_cast<uint64_t>(st->integer(1));
  if (rc != SQLITE_DONE) return fail("{}: reading counters: {}", path_, sqlite3_errmsg(db_));
  return out;
}

Result<uint64_t> TimeseriesStore::reading_count(const TelemetryFilter& where) const {
  OFFICINA_TRY(auto st, Statement::prepare(db_, fmt::format("SELECT COUNT(*) FROM readings WHERE {}", kFilterSql), path_));
  st->bind_filter(where);
  if (st->step() != SQLITE_ROW) return fail("{}: counting readings: {}", path_, sqlite3_errmsg(db_));
  return static_cast<uint64_t>(st->integer(0));
}

}  // namespace officina::twin
