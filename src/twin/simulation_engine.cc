#include "twin/simulation_engine.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include <fmt/format.h>

namespace officina::twin::detail {

void SimulationEngine::handle(const Event& e) {
  if (options_.observer && !options_.observer->on_time(now_)) horizon_ = now_;  // stop after this instant
  MachineState& m = machines_[e.target < machines_.size() ? e.target : 0];
  switch (e.kind) {
    case kServerDone:
      if (m.servers[e.slot].epoch == e.epoch) on_server_done(m, e.slot);
      break;
    case kFailure:
      if (m.clocks[e.slot].epoch == e.epoch && m.running) on_failure(m, e.slot);
      break;
    case kRepairDone: on_repair_done(m); break;
    case kPmDue: on_pm_due(m); break;
    case kPmDone: on_pm_done(m); break;
    case kSensorTick: on_sensor_tick(m); break;
    case kArrival: on_arrival(static_cast<int>(e.target)); break;
    case kShiftChange: on_shift_change(); break;
    case kPredictCheck: on_predict_check(m); break;
  }
  drain();
  if (options_.observer) report_status();
}

// ---- part flow -------------------------------------------------------------

void SimulationEngine::kick(int machine) {
  MachineState& m = machines_[machine];
  if (m.in_worklist) return;
  m.in_worklist = true;
  worklist_.push_back(machine);
}

void SimulationEngine::drain() {
  while (!worklist_.empty()) {
    int id = worklist_.back();
    worklist_.pop_back();
    machines_[id].in_worklist = false;
    settle(machines_[id]);
  }
}

void SimulationEngine::settle(MachineState& m) {
  // Finished parts leave first (oldest first): they free servers and may
  // unblock this machine's own start.
  while (m.blocked_count > 0 && (m.out_queue < 0 || !queues_[m.out_queue].full())) {
    Server* oldest = nullptr;
    for (Server& s : m.servers) {
      if (s.activity == Activity::kBlocked && (!oldest || s.since < oldest->since)) oldest = &s;
    }
    assert(oldest);
    if (m.running) m.stats.blocked += window(oldest->since, now_);
    oldest->activity = Activity::kIdle;
    --m.blocked_count;
    deliver(m, oldest->part);
  }
  if (!m.running) return;
  for (Server& s : m.servers) {
    if (s.activity != Activity::kIdle) continue;
    Part part;
    if (!take_part(m, part)) break;
    start_part(m, s, part);
  }
}

bool SimulationEngine::take_part(MachineState& m, Part& part) {
  if (m.in_queue < 0) {
    // Raw material never runs out: a new part enters the line now.
    LineState& line = lines_[m.line];
    part = Part{now_, now_, next_product(line)};
    wip_change(line, +1);
    return true;
  }
  PartQueue& q = queues_[m.in_queue];
  if (q.empty()) return false;
  part = q.pop();
  if (m.upstream >= 0 && machines_[m.upstream].blocked_count > 0) kick(m.upstream);
  return true;
}

void SimulationEngine::deliver(MachineState& m, const Part& part) {
  if (m.out_queue >= 0) {
    Part moved = part;
    moved.queued = now_;
    queues_[m.out_queue].push(moved);
    kick(m.downstream);
    return;
  }
  LineState& line = lines_[m.line];
  if (counting()) {
    ++line.good;
    line.lead_time_sum += now_ - part.entry;
  }
  wip_change(line, -1);
}

void SimulationEngine::start_part(MachineState& m, Server& s, const Part& part) {
  if (counting()) {
    m.stats.wait_sum += now_ - part.queued;
    ++m.stats.wait_count;
  }
  s.part = part;
  bool change = m.last_product >= 0 && m.last_product != static_cast<int>(part.product);
  m.last_product = static_cast<int>(part.product);
  if (change && m.has_setup) {
    s.activity = Activity::kSetup;
    s.since = now_;
    s.end = now_ + m.setup_rng.sample(m.setup);
    calendar_.push(s.end, kServerDone, id(m), s.index, ++s.epoch);
    return;
  }
  start_processing(m, s);
}

void SimulationEngine::start_processing(MachineState& m, Server& s) {
  double factor = plant_.products[s.part.product].cycle_factor;
  s.activity = Activity::kProcessing;
  s.since = now_;
  s.duration = m.cycle_rng.sample(m.cycle) * factor;
  s.end = now_ + s.duration;
  calendar_.push(s.end, kServerDone, id(m), s.index, ++s.epoch);
}

void SimulationEngine::on_server_done(MachineState& m, int index) {
  Server& s = m.servers[index];
  if (s.activity == Activity::kSetup) {
    m.stats.setup += window(s.since, now_);
    start_processing(m, s);
    return;
  }
  assert(s.activity == Activity::kProcessing);
  m.stats.processing += window(s.since, now_);
  const double factor = plant_.products[s.part.product].cycle_factor;
  if (counting()) m.stats.ideal += m.ideal_cycle * factor;

  // Wear grows with processing time; increments have mean rate * dt.
  for (size_t d = 0; d < m.growth.size(); ++d) {
    const WearGrowth& g = m.growth[d];
    double step = g.rate_per_second * s.duration;
    if (g.sigma > 0) step *= std::exp(g.sigma * m.wear_rng.standard_normal() + g.shift);
    m.wear[d] += step;
  }

  if (m.scrap_probability > 0 && m.scrap_rng.bernoulli(m.scrap_probability)) {
    s.activity = Activity::kIdle;
    LineState& line = lines_[m.line];
    if (counting()) {
      ++m.stats.scrap;
      ++line.scrap;
    }
    wip_change(line, -1);
  } else {
    if (counting()) ++m.stats.good;
    if (m.out_queue < 0 || !queues_[m.out_queue].full()) {
      s.activity = Activity::kIdle;
      deliver(m, s.part);
    } else {
      s.activity = Activity::kBlocked;
      s.since = now_;
      ++m.blocked_count;
    }
  }
  kick(id(m));

  for (const WearTrigger& t : m.wear_failures) {
    if (m.wear[t.degradation] >= t.threshold) {
      fail(m, t.mode);
      return;
    }
  }
  if (m.condition_wear >= 0 && m.wear[m.condition_wear] >= m.condition_threshold) request_pm(m);
}

uint32_t SimulationEngine::next_product(LineState& line) {
  if (line.lot_left == 0) {
    // Each lot's product is drawn from the mix.
    double u = line.mix_rng.uniform();
    uint32_t product = 0;
    while (product + 1 < line.mix_cdf.size() && u > line.mix_cdf[product]) ++product;
    line.lot_product = product;
    line.lot_left = line.lot_size;
  }
  --line.lot_left;
  return line.lot_product;
}

void SimulationEngine::wip_change(LineState& line, int delta) {
  line.wip_area += line.wip * window(line.wip_since, now_);
  line.wip_since = now_;
  line.wip += delta;
}

void SimulationEngine::on_arrival(int index) {
  LineState& line = lines_[index];
  MachineState& first = machines_[line.first_machine];
  PartQueue& q = queues_[line.input_queue];
  if (q.full()) {
    if (counting()) ++line.lost;
  } else {
    q.push(Part{now_, now_, next_product(line)});
    wip_change(line, +1);
    kick(id(first));
  }
  double gap = line.poisson ? line.arrival_rng.exponential(line.arrival_mean) : line.arrival_mean;
  calendar_.push(now_ + gap, kArrival, static_cast<uint32_t>(index));
}

// ---- running, failures, maintenance ----------------------------------------

void SimulationEngine::set_running(MachineState& m) {
  bool should = m.up && in_shift_;
  if (should == m.running) return;
  m.running = should;
  if (!should) {
    for (Server& s : m.servers) {
      if (s.activity == Activity::kSetup || s.activity == Activity::kProcessing) {
        s.remaining = s.end - now_;
        (s.activity == Activity::kSetup ? m.stats.setup : m.stats.processing) += window(s.since, now_);
        ++s.epoch;
      } else if (s.activity == Activity::kBlocked) {
        m.stats.blocked += window(s.since, now_);
      }
    }
    for (FailureClock& c : m.clocks) {
      c.remaining = std::max(0.0, c.due - now_);
      ++c.epoch;
    }
    return;
  }
  for (size_t i = 0; i < m.servers.size(); ++i) {
    Server& s = m.servers[i];
    s.since = now_;
    if (s.activity == Activity::kSetup || s.activity == Activity::kProcessing) {
      s.end = now_ + s.remaining;
      calendar_.push(s.end, kServerDone, id(m), static_cast<uint16_t>(i), ++s.epoch);
    }
  }
  for (size_t f = 0; f < m.clocks.size(); ++f) {
    if (m.spec->failure_modes[f].trigger != FailureTrigger::kTime) continue;
    FailureClock& c = m.clocks[f];
    c.due = now_ + c.remaining;
    calendar_.push(c.due, kFailure, id(m), static_cast<uint16_t>(f), ++c.epoch);
  }
  kick(id(m));
}

void SimulationEngine::close_downtime(MachineState& m) {
  m.stats.downtime[m.down_cause] += planned(m.down_since, now_);
  m.down_since = now_;
}

void SimulationEngine::go_down(MachineState& m, int cause) {
  m.up = false;
  m.down_cause = cause;
  m.down_since = now_;
  set_running(m);
}

void SimulationEngine::come_up(MachineState& m) {
  close_downtime(m);
  m.up = true;
  m.down_cause = -1;
  set_running(m);
}

void SimulationEngine::fail(MachineState& m, int mode) {
  if (counting()) ++m.stats.failures;
  m.failed_mode = mode;
  go_down(m, cause_index(m, kCauseWaitingCrew));
  if (options_.record_sensors && !m.spec->sensors.empty()) {
    result_.runs.push_back(SensorRun{static_cast<int>(m.line), static_cast<int>(m.spec_index), mode, std::move(m.history)});
  }
  m.history.clear();
  corrective_queue_.push_back(id(m));
  dispatch_crews();
}

void SimulationEngine::on_failure(MachineState& m, int mode) { fail(m, mode); }

void SimulationEngine::request_pm(MachineState& m) {
  if (m.pm_requested) return;
  m.pm_requested = true;
  pm_queue_.push_back(id(m));
  dispatch_crews();
}

void SimulationEngine::dispatch_crews() {
  while (free_crews_ > 0) {
    if (corrective_head_ < corrective_queue_.size()) {
      MachineState& m = machines_[corrective_queue_[corrective_head_++]];
      --free_crews_;
      close_downtime(m);  // the wait for a crew ends here
      m.down_cause = m.failed_mode;
      const int mode = m.failed_mode;
      double duration = m.repair_rng[mode].sample(m.repair[mode]);
      if (counting()) {
        m.stats.labour_cost += duration / 3600 * plant_.costs.labour_per_hour;
        m.stats.parts_cost += m.spec->failure_modes[mode].parts_cost;
      }
      calendar_.push(now_ + duration, kRepairDone, id(m));
    } else if (pm_head_ < pm_queue_.size()) {
      MachineState& m = machines_[pm_queue_[pm_head_++]];
      if (!m.up) {
        // Down for a repair: maintain right after it instead of holding a crew.
        m.pm_deferred = true;
        continue;
      }
      --free_crews_;
      const Maintenance& mt = m.spec->maintenance;
      go_down(m, cause_index(m, mt.policy == MaintenancePolicy::kCondition ? kCauseCondition : kCausePreventive));
      double duration = m.maintenance_rng.sample(m.maintenance);
      if (counting()) {
        ++m.stats.preventive;
        m.stats.labour_cost += duration / 3600 * plant_.costs.labour_per_hour;
        m.stats.parts_cost += mt.parts_cost;
      }
      calendar_.push(now_ + duration, kPmDone, id(m));
    } else {
      break;
    }
  }
  // Drop served entries so a long run with always-busy crews stays small.
  auto compact = [](std::vector<int>& queue, size_t& head) {
    if (head == queue.size() || head > 256) {
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
  };
  compact(corrective_queue_, corrective_head_);
  compact(pm_queue_, pm_head_);
}

void SimulationEngine::on_repair_done(MachineState& m) {
  ++free_crews_;
  const int mode = m.failed_mode;
  const FailureMode& f = m.spec->failure_modes[mode];
  if (f.trigger == FailureTrigger::kTime) {
    m.clocks[mode].remaining = m.failure_rng[mode].sample(m.ttf[mode]);
  } else {
    m.wear[f.degradation] = 0;  // the worn component was replaced
  }
  m.failed_mode = -1;
  m.renewed_at = now_;
  come_up(m);
  if (m.pm_deferred) {
    m.pm_deferred = false;
    pm_queue_.push_back(id(m));
  }
  dispatch_crews();
}

void SimulationEngine::renew_all(MachineState& m) {
  for (size_t f = 0; f < m.clocks.size(); ++f) {
    if (m.spec->failure_modes[f].trigger == FailureTrigger::kTime) m.clocks[f].remaining = m.failure_rng[f].sample(m.ttf[f]);
  }
  std::fill(m.wear.begin(), m.wear.end(), 0.0);
  m.renewed_at = now_;
  if (!m.history.empty()) {
    if (options_.record_sensors) ++result_.censored_runs;
    m.history.clear();
  }
}

void SimulationEngine::on_pm_due(MachineState& m) { request_pm(m); }

void SimulationEngine::on_pm_done(MachineState& m) {
  ++free_crews_;
  m.pm_requested = false;
  renew_all(m);
  come_up(m);
  if (m.spec->maintenance.policy == MaintenancePolicy::kPreventive) {
    calendar_.push(now_ + m.spec->maintenance.interval, kPmDue, id(m));
  }
  dispatch_crews();
}

// ---- sensors and shifts ----------------------------------------------------

void SimulationEngine::sample_sensors(MachineState& m) {
  const Machine& spec = *m.spec;
  for (size_t i = 0; i < spec.sensors.size(); ++i) {
    if (now_ + 1e-9 < m.sensor_due[i]) continue;
    const Sensor& s = spec.sensors[i];
    double level = 0;
    if (s.degradation >= 0) {
      const double w = m.wear[s.degradation];
      level = s.exponent == 1 ? w : s.exponent == 2 ? w * w : std::pow(w, s.exponent);
    }
    double value = s.base + s.gain * level;
    if (s.noise_sd > 0) value += s.noise_sd * m.sensor_rng[i].standard_normal();
    m.sensor_value[i] = value;
    m.sensor_due[i] += s.period;
    if (options_.observer) options_.observer->on_sensor(static_cast<int>(m.line), static_cast<int>(m.spec_index), static_cast<int>(i), now_, value);
    const Maintenance& mt = spec.maintenance;
    if (mt.policy == MaintenancePolicy::kCondition && mt.sensor == static_cast<int>(i) && value >= mt.threshold && m.up) {
      request_pm(m);
    }
  }
}

void SimulationEngine::on_sensor_tick(MachineState& m) {
  sample_sensors(m);
  if ((options_.record_sensors || m.predictive) && m.running) {
    int busy = 0;
    for (const Server& s : m.servers) busy += s.activity == Activity::kProcessing || s.activity == Activity::kSetup;
    m.history.push_back(now_);
    m.history.push_back(m.last_product < 0 ? 0 : m.last_product);
    m.history.push_back(static_cast<double>(busy) / m.servers.size());
    m.history.push_back((now_ - m.renewed_at) / 3600);
    m.history.insert(m.history.end(), m.sensor_value.begin(), m.sensor_value.end());
  }
  calendar_.push(now_ + m.sensor_period, kSensorTick, id(m));
}

// The policy asks only at check times, never per sensor tick, so a model's
// cost scales with horizon / check_every. The RUL lower bound (not the
// point) is compared with the lead time: acting on the pessimistic end of
// the 90% interval is what keeps failures rare when the model is unsure.
void SimulationEngine::on_predict_check(MachineState& m) {
  const Maintenance& mt = m.spec->maintenance;
  calendar_.push(now_ + mt.check_every, kPredictCheck, id(m));
  if (!m.up || m.pm_requested || m.history.empty()) return;
  const size_t columns = 4 + m.spec->sensors.size();
  auto estimate = options_.estimator->estimate(static_cast<int>(m.line), static_cast<int>(m.spec_index), m.history, columns);
  if (!estimate) {
    error_ = Error{fmt::format("{}/{} at t={:.0f}s: {}", plant_.lines[m.line].name, m.spec->name, now_, estimate.error().message)};
    horizon_ = now_;
    return;
  }
  m.health = *estimate;
  m.estimated = true;
  if (options_.observer) options_.observer->on_health(static_cast<int>(m.line), static_cast<int>(m.spec_index), now_, m.health);
  if (m.health.rul_lo < mt.lead_time) {
    if (counting()) ++m.stats.predictive;
    request_pm(m);
  }
}

void SimulationEngine::on_shift_change() {
  in_shift_ = plant_.calendar.in_shift(now_);
  for (MachineState& m : machines_) set_running(m);
  calendar_.push(plant_.calendar.next_change(now_), kShiftChange, 0);
}

void SimulationEngine::report_status() {
  reported_status_.resize(machines_.size(), 0xff);
  for (const MachineState& m : machines_) {
    MachineStatus status = MachineStatus::kStarved;
    if (!m.up) {
      status = m.failed_mode >= 0 ? MachineStatus::kDown : MachineStatus::kMaintenance;
    } else if (!in_shift_) {
      status = MachineStatus::kIdle;
    } else {
      for (const Server& s : m.servers) {
        if (s.activity == Activity::kSetup || s.activity == Activity::kProcessing) status = MachineStatus::kRunning;
      }
      if (status != MachineStatus::kRunning && m.blocked_count > 0) status = MachineStatus::kBlocked;
    }
    uint8_t& told = reported_status_[id(m)];
    if (told == static_cast<uint8_t>(status)) continue;
    told = static_cast<uint8_t>(status);
    options_.observer->on_status(static_cast<int>(m.line), static_cast<int>(m.spec_index), now_, status);
  }
}

double SimulationEngine::window(double a, double b) const {
  double lo = std::max(a, warmup_);
  return b > lo ? b - lo : 0;
}

double SimulationEngine::planned(double a, double b) const {
  if (always_on_) return window(a, b);
  double lo = std::max(a, warmup_);
  if (b <= lo) return 0;
  return plant_.calendar.planned_before(b) - plant_.calendar.planned_before(lo);
}

}  // namespace officina::twin::detail
