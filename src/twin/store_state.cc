#include "twin/store_state.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "twin/telemetry_topic.h"

namespace officina::twin {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr MachineStatus kStopped[] = {MachineStatus::kDown, MachineStatus::kMaintenance};
constexpr MachineStatus kUp[] = {MachineStatus::kRunning, MachineStatus::kIdle, MachineStatus::kBlocked,
                                 MachineStatus::kStarved};
// The interquartile mean's standard error over the plain mean's for normal
// noise (its efficiency is about 0.83).
constexpr double kIqmSeFactor = 1.1;

bool stopped(MachineStatus s) { return s == MachineStatus::kDown || s == MachineStatus::kMaintenance; }

// The mean of the middle half of the values (all of them below four).
double interquartile_mean(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t cut = values.size() / 4;
  double sum = 0;
  for (size_t i = cut; i + cut < values.size(); ++i) sum += values[i];
  return sum / static_cast<double>(values.size() - 2 * cut);
}

// The wear that makes the sensor read `reading` without noise, in [0, limit].
double invert(const Sensor& s, double reading, double limit) {
  const double level = (reading - s.base) / s.gain;
  if (!(level > 0)) return 0;
  const double wear = s.exponent == 1 ? level : std::pow(level, 1 / s.exponent);
  return std::min(wear, limit);
}

struct SensorEstimate {
  double wear = 0, sd = 0;
  size_t readings = 0;
};

// The time the machine came back from its last repair or maintenance, if the
// status history shows one: the first status after the last stop that
// precedes the current up-period (or the current stop).
Result<std::optional<double>> last_renewal(const TimeseriesStore& store, const TelemetryFilter& where,
                                           const std::optional<StoredState>& current) {
  double before = kInf;
  if (current && stopped(current->state)) {
    OFFICINA_TRY(auto up, store.last_state_in(where, kUp, current->ts));
    if (!up) return std::optional<double>{};
    before = up->ts;
  }
  OFFICINA_TRY(auto stop, store.last_state_in(where, kStopped, before));
  if (!stop) return std::optional<double>{};
  OFFICINA_TRY(auto back, store.first_state_after(where, stop->ts));
  if (!back) return std::optional<double>{};
  return std::optional<double>(back->ts);
}

Result<WearEstimate> estimate_wear(const TimeseriesStore& store, const TelemetryFilter& where, const Machine& m,
                                   int g, const MachineStoreState& ms, const StoreStateOptions& options) {
  const Degradation& d = m.degradations[static_cast<size_t>(g)];
  WearEstimate e;
  e.degradation = d.name;
  e.wear = d.initial;
  for (const FailureMode& f : m.failure_modes) {
    if (f.trigger == FailureTrigger::kDegradation && f.degradation == g) e.limit = std::min(e.limit, f.threshold);
  }
  if (ms.status == MachineStatus::kMaintenance) {
    e.estimated = true;
    e.wear = 0;
    e.source = "maintenance in progress";
    return e;
  }
  std::vector<const Sensor*> sensors;
  for (const Sensor& s : m.sensors) {
    if (s.degradation == g && s.gain != 0) sensors.push_back(&s);
  }
  if (sensors.empty()) {
    e.source = "no sensor";
    return e;
  }
  const double from = ms.renewed_at.value_or(-kInf);
  std::vector<SensorEstimate> found;
  for (const Sensor* s : sensors) {
    OFFICINA_TRY(auto rows, store.last_readings(where, sanitize_topic_level(s->name), options.readings, from));
    if (rows.empty()) continue;
    std::vector<double> values;
    for (const Reading& r : rows) values.push_back(r.value);
    const double mean = interquartile_mean(values);
    const double se = kIqmSeFactor * s->noise_sd / std::sqrt(static_cast<double>(values.size()));
    SensorEstimate x;
    x.wear = invert(*s, mean, e.limit);
    x.sd = std::abs(invert(*s, mean + se, e.limit) - invert(*s, mean - se, e.limit)) / 2;
    x.readings = values.size();
    found.push_back(x);
    e.sensors.push_back(s->name);
    e.readings += x.readings;
  }
  if (found.empty()) {
    // Readings before the renewal only: it happened within a sensor period.
    bool older = false;
    for (const Sensor* s : sensors) {
      OFFICINA_TRY(auto rows, store.last_readings(where, sanitize_topic_level(s->name), 1));
      older |= !rows.empty();
    }
    e.estimated = older;
    if (older) e.wear = 0;
    e.source = older ? "renewed, no reading since" : "no readings";
    return e;
  }
  e.estimated = true;
  // Noiseless (or fully clamped) sensors are exact: they alone decide.
  double exact_sum = 0, weight_sum = 0, weighted = 0;
  size_t exact = 0;
  for (const SensorEstimate& x : found) {
    if (x.sd == 0) {
      exact_sum += x.wear;
      ++exact;
    } else {
      weight_sum += 1 / (x.sd * x.sd);
      weighted += x.wear / (x.sd * x.sd);
    }
  }
  if (exact > 0) {
    e.wear = exact_sum / static_cast<double>(exact);
    e.sd = 0;
  } else {
    e.wear = weighted / weight_sum;
    e.sd = 1 / std::sqrt(weight_sum);
  }
  e.source = fmt::format("{}", fmt::join(e.sensors, "+"));
  return e;
}

}  // namespace

Result<PlantStoreState> read_store_state(const Plant& plant, const TimeseriesStore& store,
                                         const StoreStateOptions& options) {
  if (options.readings < 1) return fail("store state: at least one reading per sensor is needed");
  PlantStoreState out;
  out.store = store.path();
  out.plant = sanitize_topic_level(plant.name);
  // First pass: what the store knows of each machine, and the newest time.
  std::vector<std::optional<StoredState>> current;
  for (size_t l = 0; l < plant.lines.size(); ++l) {
    const Line& line = plant.lines[l];
    for (size_t i = 0; i < line.machines.size(); ++i) {
      MachineStoreState ms;
      ms.line = static_cast<int>(l);
      ms.machine = static_cast<int>(i);
      ms.line_name = line.name;
      ms.machine_name = line.machines[i].name;
      const TelemetryFilter where{out.plant, sanitize_topic_level(line.name), sanitize_topic_level(line.machines[i].name)};
      OFFICINA_TRY(auto states, store.current_states(where));
      OFFICINA_TRY(auto latest, store.latest(where));
      OFFICINA_TRY(auto health, store.latest_health(where));
      std::optional<StoredState> now;
      if (!states.empty()) {
        now = states.front();
        ms.status = now->state;
        ms.status_ts = now->ts;
        out.as_of = std::max(out.as_of, now->ts);
      }
      for (const Reading& r : latest) out.as_of = std::max(out.as_of, r.ts);
      if (!health.empty()) {
        ms.health = health.front();
        out.as_of = std::max(out.as_of, ms.health->ts);
      }
      ms.found = !states.empty() || !latest.empty() || !health.empty();
      out.matched += ms.found;
      current.push_back(now);
      out.machines.push_back(std::move(ms));
    }
  }
  if (out.matched == 0) {
    OFFICINA_TRY(auto plants, store.plants());
    if (plants.empty()) {
      return fail("{}: the store holds no telemetry (fill it with `officina twin ingest --store {}` while the plant "
                  "or `twin live` publishes)", store.path(), store.path());
    }
    return fail("{}: no telemetry for any machine of plant '{}' (topic level '{}'); the store holds plant(s): {} "
                "— is it the store of another plant?", store.path(), plant.name, out.plant, fmt::join(plants, ", "));
  }
  // Second pass: renewals and wear, against the plant-wide as_of.
  for (size_t k = 0; k < out.machines.size(); ++k) {
    MachineStoreState& ms = out.machines[k];
    const Line& line = plant.lines[static_cast<size_t>(ms.line)];
    const Machine& m = line.machines[static_cast<size_t>(ms.machine)];
    const TelemetryFilter where{out.plant, sanitize_topic_level(line.name), sanitize_topic_level(m.name)};
    if (ms.found) {
      OFFICINA_TRY(ms.renewed_at, last_renewal(store, where, current[k]));
      if (ms.renewed_at) {
        ms.since_renewal_s = out.as_of - *ms.renewed_at;
        ms.since_renewal_is_lower_bound = false;
      } else if (current[k]) {
        OFFICINA_TRY(auto oldest, store.first_state_after(where, -kInf));
        if (oldest) ms.since_renewal_s = out.as_of - oldest->ts;
      }
    }
    for (size_t g = 0; g < m.degradations.size(); ++g) {
      if (!ms.found) {
        WearEstimate e;
        e.degradation = m.degradations[g].name;
        e.wear = m.degradations[g].initial;
        e.source = "no telemetry";
        ms.wear.push_back(std::move(e));
        continue;
      }
      OFFICINA_TRY(auto e, estimate_wear(store, where, m, static_cast<int>(g), ms, options));
      ms.wear.push_back(std::move(e));
    }
  }
  return out;
}

Result<PlantStoreState> read_store_state(const Plant& plant, const std::string& store_path,
                                         const StoreStateOptions& options) {
  OFFICINA_TRY(TimeseriesStore store, TimeseriesStore::open_existing(store_path));
  return read_store_state(plant, store, options);
}

void apply_store_state(Plant& plant, const PlantStoreState& state) {
  for (const MachineStoreState& ms : state.machines) {
    if (ms.line < 0 || static_cast<size_t>(ms.line) >= plant.lines.size()) continue;
    Line& line = plant.lines[static_cast<size_t>(ms.line)];
    if (ms.machine < 0 || static_cast<size_t>(ms.machine) >= line.machines.size()) continue;
    Machine& m = line.machines[static_cast<size_t>(ms.machine)];
    for (size_t g = 0; g < ms.wear.size() && g < m.degradations.size(); ++g) {
      if (ms.wear[g].estimated) m.degradations[g].initial = ms.wear[g].wear;
    }
  }
}

}  // namespace officina::twin
