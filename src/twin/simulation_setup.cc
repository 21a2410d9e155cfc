#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "twin/plant_validator.h"
#include "twin/simulation_engine.h"

namespace officina::twin {

namespace detail {

SimulationEngine::SimulationEngine(const Plant& plant, const SimulationOptions& options)
    : plant_(plant), options_(options), horizon_(options.horizon), warmup_(options.warmup) {}

void SimulationEngine::build() {
  const Calendar& cal = plant_.calendar;
  always_on_ = cal.planned_hours_per_day() >= 24 && cal.days_per_week >= 7;
  size_t total = 0;
  for (const Line& line : plant_.lines) total += line.machines.size();
  machines_.reserve(total);
  worklist_.reserve(total);
  corrective_queue_.reserve(total);
  pm_queue_.reserve(total);
  const uint64_t seed = options_.seed;

  for (size_t l = 0; l < plant_.lines.size(); ++l) {
    const Line& line = plant_.lines[l];
    LineState ls;
    double cum = 0;
    for (const Product& p : plant_.products) ls.mix_cdf.push_back(cum += p.mix);
    ls.mix_cdf.back() = 1.0;  // guard against rounding in the shares
    ls.arrival_rng = RandomStream(seed, source_id(line.name + "/arrivals"));
    ls.mix_rng = RandomStream(seed, source_id(line.name + "/mix"));
    ls.lot_size = line.lot_size;
    if (line.demand.enabled) {
      ls.arrival_mean = 3600.0 / line.demand.rate_per_hour;
      ls.poisson = line.demand.poisson;
      ls.input_queue = static_cast<int>(queues_.size());
      queues_.emplace_back(line.input_capacity);
    }
    const size_t n = line.order.size();
    const int first_queue = static_cast<int>(queues_.size());
    for (size_t k = 0; k + 1 < n; ++k) queues_.emplace_back(line.buffer_after[k]);
    ls.first_machine = static_cast<int>(machines_.size());
    ls.last_machine = ls.first_machine + static_cast<int>(n) - 1;

    for (size_t k = 0; k < n; ++k) {
      const Machine& spec = line.machines[line.order[k]];
      MachineState m;
      m.spec = &spec;
      m.line = static_cast<uint32_t>(l);
      m.spec_index = static_cast<uint32_t>(line.order[k]);
      m.in_queue = k == 0 ? ls.input_queue : first_queue + static_cast<int>(k) - 1;
      m.out_queue = k + 1 < n ? first_queue + static_cast<int>(k) : -1;
      m.upstream = k == 0 ? -1 : static_cast<int>(machines_.size()) - 1;
      m.downstream = k + 1 < n ? static_cast<int>(machines_.size()) + 1 : -1;
      m.id = static_cast<uint32_t>(machines_.size());
      m.servers.resize(spec.capacity);
      for (size_t i = 0; i < m.servers.size(); ++i) m.servers[i].index = static_cast<uint16_t>(i);
      m.has_setup = !spec.setup_time.is_zero();
      m.scrap_probability = spec.scrap_probability;
      for (size_t f = 0; f < spec.failure_modes.size(); ++f) {
        const FailureMode& mode = spec.failure_modes[f];
        if (mode.trigger == FailureTrigger::kDegradation) m.wear_failures.push_back({static_cast<int>(f), mode.degradation, mode.threshold});
      }
      if (spec.maintenance.policy == MaintenancePolicy::kCondition && spec.maintenance.degradation >= 0) {
        m.condition_wear = spec.maintenance.degradation;
        m.condition_threshold = spec.maintenance.threshold;
      }
      m.clocks.resize(spec.failure_modes.size());
      m.wear.assign(spec.degradations.size(), 0.0);
      for (size_t d = 0; d < spec.degradations.size(); ++d) m.wear[d] = spec.degradations[d].initial;
      for (const Degradation& g : spec.degradations) {
        const double sigma2 = std::log1p(g.cv * g.cv);
        m.growth.push_back(WearGrowth{g.rate_per_hour / 3600, std::sqrt(sigma2), -sigma2 / 2});
      }
      m.sensor_value.assign(spec.sensors.size(), 0.0);
      m.sensor_due.assign(spec.sensors.size(), 0.0);
      m.cycle = Sampler(spec.cycle_time);
      m.setup = Sampler(spec.setup_time);
      m.maintenance = Sampler(spec.maintenance.duration);
      m.ideal_cycle = spec.cycle_time.mean();
      const std::string prefix = line.name + "/" + spec.name + "/";
      m.cycle_rng = RandomStream(seed, source_id(prefix + "cycle"));
      m.setup_rng = RandomStream(seed, source_id(prefix + "setup"));
      m.scrap_rng = RandomStream(seed, source_id(prefix + "scrap"));
      m.wear_rng = RandomStream(seed, source_id(prefix + "wear"));
      m.maintenance_rng = RandomStream(seed, source_id(prefix + "maintenance"));
      for (const FailureMode& f : spec.failure_modes) {
        m.ttf.emplace_back(f.time_to_failure);
        m.repair.emplace_back(f.repair_time);
        m.failure_rng.emplace_back(seed, source_id(prefix + "failure/" + f.name));
        m.repair_rng.emplace_back(seed, source_id(prefix + "repair/" + f.name));
      }
      m.sensor_period = std::numeric_limits<double>::infinity();
      for (const Sensor& s : spec.sensors) {
        m.sensor_rng.emplace_back(seed, source_id(prefix + "sensor/" + s.name));
        m.sensor_period = std::min(m.sensor_period, s.period);
      }
      m.stats.downtime.assign(spec.failure_modes.size() + kCauseCount, 0.0);
      machines_.push_back(std::move(m));
    }
    lines_.push_back(std::move(ls));
  }
  calendar_.reserve(total * 8 + plant_.lines.size() + 16);
}

void SimulationEngine::start() {
  now_ = 0;
  in_shift_ = plant_.calendar.in_shift(0);
  free_crews_ = plant_.crews;
  for (MachineState& m : machines_) {
    const Machine& spec = *m.spec;
    for (size_t f = 0; f < m.clocks.size(); ++f) {
      if (spec.failure_modes[f].trigger == FailureTrigger::kTime) m.clocks[f].remaining = m.failure_rng[f].sample(m.ttf[f]);
    }
    set_running(m);
    if (!spec.sensors.empty()) {
      for (size_t i = 0; i < spec.sensors.size(); ++i) m.sensor_due[i] = spec.sensors[i].period;
      calendar_.push(m.sensor_period, kSensorTick, id(m));
    }
    if (spec.maintenance.policy == MaintenancePolicy::kPreventive) {
      calendar_.push(spec.maintenance.interval, kPmDue, id(m));
    }
    if (spec.maintenance.policy == MaintenancePolicy::kPredictive) {
      m.predictive = true;
      calendar_.push(spec.maintenance.check_every, kPredictCheck, id(m));
    }
    if (spec.maintenance.policy == MaintenancePolicy::kScheduled) {
      // A plan has a handful of entries per machine, so all go in at once.
      for (double t : spec.maintenance.at) {
        if (t <= horizon_) calendar_.push(t, kPmDue, id(m));
      }
    }
  }
  for (size_t l = 0; l < lines_.size(); ++l) {
    LineState& line = lines_[l];
    if (line.input_queue < 0) continue;
    double gap = line.poisson ? line.arrival_rng.exponential(line.arrival_mean) : line.arrival_mean;
    calendar_.push(gap, kArrival, static_cast<uint32_t>(l));
  }
  double change = plant_.calendar.next_change(0);
  if (!always_on_ && change < std::numeric_limits<double>::infinity()) calendar_.push(change, kShiftChange, 0);
  drain();
}

Result<SimulationResult> SimulationEngine::run() {
  auto started = std::chrono::steady_clock::now();
  build();
  start();
  while (calendar_.next_time() <= horizon_) {
    Event e = calendar_.pop();
    now_ = e.time;
    ++events_;
    handle(e);
    if (error_) return std::unexpected(*error_);
  }
  now_ = horizon_;
  finish();
  result_.kpis = kpis();
  result_.kpis.events = events_;
  result_.kpis.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return std::move(result_);
}

void SimulationEngine::finish() {
  for (MachineState& m : machines_) {
    if (m.running) {
      for (Server& s : m.servers) {
        if (s.activity == Activity::kSetup) m.stats.setup += window(s.since, now_);
        if (s.activity == Activity::kProcessing) m.stats.processing += window(s.since, now_);
        if (s.activity == Activity::kBlocked) m.stats.blocked += window(s.since, now_);
      }
    }
    if (!m.up) close_downtime(m);
  }
  for (LineState& line : lines_) wip_change(line, 0);
}

RunKpis SimulationEngine::kpis() const {
  RunKpis out;
  const double planned_total = planned(0, horizon_);
  const double window_hours = (horizon_ - warmup_) / 3600;
  const Costs& costs = plant_.costs;
  double mean_factor = 0;
  for (const Product& p : plant_.products) mean_factor += p.mix * p.cycle_factor;

  for (size_t l = 0; l < plant_.lines.size(); ++l) {
    const Line& line = plant_.lines[l];
    const LineState& ls = lines_[l];
    LineKpis lk;
    lk.name = line.name;
    lk.machines.resize(line.machines.size());
    double maintenance = 0, downtime_cost = 0, scrap_cost = 0;
    double bottleneck_rate = std::numeric_limits<double>::infinity(), bottleneck_availability = 0;
    uint64_t bottleneck_made = 0;
    for (int id = ls.first_machine; id <= ls.last_machine; ++id) {
      const MachineState& m = machines_[id];
      const MachineStats& st = m.stats;
      const Machine& spec = *m.spec;
      const double c = spec.capacity;
      const size_t modes = spec.failure_modes.size();
      double stopped = 0;
      for (size_t i = 0; i < st.downtime.size(); ++i) {
        if (static_cast<int>(i) != static_cast<int>(modes) + kCauseSetup) stopped += st.downtime[i];
      }
      const double setup_down = st.setup / c;
      const double P = planned_total;
      const double availability = P > 0 ? std::clamp(1 - (stopped + setup_down) / P, 0.0, 1.0) : 0;
      const double operating = availability * P;
      const double performance = operating > 0 ? st.ideal / (c * operating) : 0;
      const uint64_t made = st.good + st.scrap;
      const double quality = made > 0 ? static_cast<double>(st.good) / made : 1;
      const double utilization = P > 0 ? st.processing / (c * P) : 0;
      const double blocked = P > 0 ? st.blocked / (c * P) : 0;
      const double m_downtime_cost = stopped / 3600 * costs.downtime_per_hour;
      const double m_scrap_cost = st.scrap * costs.scrap_per_unit;
      const double m_maintenance = st.labour_cost + st.parts_cost;

      MachineKpis& mk = lk.machines[m.spec_index];
      mk.name = spec.name;
      KpiSet& k = mk.kpis;
      k.add("throughput", window_hours > 0 ? st.good / window_hours : 0);
      k.add("availability", availability);
      k.add("performance", performance);
      k.add("quality", quality);
      k.add("oee", availability * performance * quality);
      k.add("utilization", utilization);
      k.add("blocked", blocked);
      k.add("starved", std::max(0.0, availability - utilization - blocked));
      k.add("wait", st.wait_count > 0 ? st.wait_sum / st.wait_count : 0);
      k.add("failures", static_cast<double>(st.failures));
      k.add("preventive_actions", static_cast<double>(st.preventive));
      if (m.predictive) {
        // The last estimate (0 before the first), so a run's JSON shows the
        // state the twin ended in; replications average them.
        k.add("predictive_actions", static_cast<double>(st.predictive));
        k.add("health_index", m.health.health_index);
        k.add("rul_h", m.health.rul / 3600);
        k.add("rul_lo_h", m.health.rul_lo / 3600);
        k.add("rul_hi_h", m.health.rul_hi / 3600);
      }
      k.add("good_units", static_cast<double>(st.good));
      k.add("scrap_units", static_cast<double>(st.scrap));
      k.add("maintenance_cost", m_maintenance);
      k.add("downtime_cost", m_downtime_cost);
      k.add("scrap_cost", m_scrap_cost);
      for (size_t f = 0; f < modes; ++f) k.add("downtime_h." + spec.failure_modes[f].name, st.downtime[f] / 3600);
      k.add("downtime_h.preventive", st.downtime[modes + kCausePreventive] / 3600);
      k.add("downtime_h.condition", st.downtime[modes + kCauseCondition] / 3600);
      k.add("downtime_h.setup", setup_down / 3600);
      k.add("downtime_h.waiting_crew", st.downtime[modes + kCauseWaitingCrew] / 3600);

      maintenance += m_maintenance;
      downtime_cost += m_downtime_cost;
      scrap_cost += m_scrap_cost;
      // The bottleneck has the lowest ideal rate (parts per second).
      const double rate = c / (m.ideal_cycle * mean_factor);
      if (rate < bottleneck_rate) {
        bottleneck_rate = rate;
        bottleneck_availability = availability;
        bottleneck_made = made;
      }
    }
    // Quality as the bottleneck sees it: good units out of the line per part
    // the bottleneck completed (scrap before it costs no bottleneck time).
    const double quality = bottleneck_made > 0 ? std::min(1.0, static_cast<double>(ls.good) / bottleneck_made) : 1;
    const double oee = planned_total > 0 ? ls.good / (bottleneck_rate * planned_total) : 0;
    const double aq = bottleneck_availability * quality;
    KpiSet& k = lk.kpis;
    k.add("throughput", window_hours > 0 ? ls.good / window_hours : 0);
    k.add("availability", bottleneck_availability);
    k.add("performance", aq > 0 ? oee / aq : 0);
    k.add("quality", quality);
    k.add("oee", oee);
    k.add("wip", horizon_ > warmup_ ? ls.wip_area / (horizon_ - warmup_) : 0);
    k.add("lead_time", ls.good > 0 ? ls.lead_time_sum / ls.good : 0);
    k.add("good_units", static_cast<double>(ls.good));
    k.add("scrap_units", static_cast<double>(ls.scrap));
    k.add("lost_demand", static_cast<double>(ls.lost));
    k.add("maintenance_cost", maintenance);
    k.add("downtime_cost", downtime_cost);
    k.add("scrap_cost", scrap_cost);
    k.add("total_cost", maintenance + downtime_cost + scrap_cost);
    out.lines.push_back(std::move(lk));
  }
  return out;
}

}  // namespace detail

Result<SimulationResult> simulate(const Plant& plant, const SimulationOptions& options) {
  SimulationOptions o = options;
  if (o.horizon <= 0) o.horizon = plant.horizon;
  OFFICINA_CHECK(validate_horizon(o.horizon));
  if (!(o.warmup >= 0) || o.warmup >= o.horizon) return fail("warmup: must be >= 0 and below the horizon");
  for (const Line& line : plant.lines) {
    if (line.order.size() != line.machines.size() || line.machines.empty()) {
      return fail("line '{}': plant not validated (call validate_plant first)", line.name);
    }
    for (const Machine& m : line.machines) {
      for (const Sensor& s : m.sensors) {
        if (o.horizon / s.period > 1e8) return fail("{}/{}: sensor '{}' would take more than 1e8 samples over the horizon", line.name, m.name, s.name);
      }
    }
  }
  if (plant.products.empty()) return fail("plant not validated (no products)");
  if (!o.estimator) {
    for (const Line& line : plant.lines) {
      for (const Machine& m : line.machines) {
        if (m.maintenance.policy == MaintenancePolicy::kPredictive) {
          return fail("{}/{}: the predictive policy needs an RUL model, and none was loaded (run through `officina twin`, "
                      "which loads maintenance.model, or give SimulationOptions::estimator)", line.name, m.name);
        }
      }
    }
  }
  detail::SimulationEngine engine(plant, o);
  return engine.run();
}

}  // namespace officina::twin
