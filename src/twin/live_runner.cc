#include "twin/live_runner.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "twin/simulator.h"

namespace officina::twin {

namespace {

using Clock = std::chrono::steady_clock;

class LiveObserver : public SimulationObserver {
 public:
  LiveObserver(const Plant& plant, const LiveOptions& options, TelemetrySink& sink, LiveResult& result)
      : plant_(plant), options_(options), sink_(sink), result_(result), started_(Clock::now()) {
    for (const Line& line : plant.lines) {
      first_machine_.push_back(static_cast<int>(machines_.size()));
      for (const Machine& m : line.machines) {
        machines_.push_back(MachineSlot{&line, &m});
      }
    }
  }

  bool on_time(double t) override {
    if (t > pending_time_) send_states();
    if (options_.stop && options_.stop->load()) {
      result_.stopped = true;
      return false;
    }
    pace(t);
    if (options_.stop && options_.stop->load()) {
      result_.stopped = true;
      return false;
    }
    result_.simulated_s = t;
    return true;
  }

  void on_sensor(int line, int machine, int sensor, double t, double value) override {
    const Line& l = plant_.lines[line];
    const Machine& m = l.machines[machine];
    const Sensor& s = m.sensors[sensor];
    Reading r{plant_.name, l.name, m.name, s.name, options_.anchor_unix + t, value, s.unit};
    if (sink_.on_reading(r)) ++result_.readings;
    else ++result_.refused;
  }

  void on_health(int line, int machine, double t, const RulEstimate& estimate) override {
    const Line& l = plant_.lines[line];
    HealthUpdate h{plant_.name, l.name, l.machines[machine].name, options_.anchor_unix + t, estimate};
    if (sink_.on_health(h)) ++result_.readings;
    else ++result_.refused;
  }

  void on_status(int line, int machine, double t, MachineStatus status) override {
    if (t > pending_time_) send_states();
    pending_time_ = t;
    MachineSlot& slot = machines_[first_machine_[line] + machine];
    slot.pending = status;
    slot.has_pending = true;
  }

  // The statuses of the last instant (called at the end of the run too).
  void send_states() {
    for (MachineSlot& slot : machines_) {
      if (!slot.has_pending) continue;
      slot.has_pending = false;
      if (slot.has_sent && slot.sent == slot.pending) continue;
      StateChange c{plant_.name, slot.line->name, slot.machine->name, options_.anchor_unix + pending_time_, slot.pending};
      if (sink_.on_state(c)) {
        slot.sent = slot.pending;
        slot.has_sent = true;
        ++result_.states;
      } else {
        ++result_.refused;
      }
    }
  }

 private:
  struct MachineSlot {
    const Line* line;
    const Machine* machine;
    MachineStatus pending = MachineStatus::kIdle, sent = MachineStatus::kIdle;
    bool has_pending = false, has_sent = false;
  };

  // Sleeps until the wall clock reaches simulated time t, in slices short
  // enough to notice *stop and to report progress.
  void pace(double t) {
    while (true) {
      auto now = Clock::now();
      if (options_.progress && now >= next_progress_) {
        options_.progress(t, result_.readings, result_.states);
        next_progress_ = now + std::chrono::seconds(1);
      }
      if (options_.speed <= 0) return;
      auto due = started_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t / options_.speed));
      if (now >= due || (options_.stop && options_.stop->load())) return;
      std::this_thread::sleep_for(std::min<Clock::duration>(due - now, std::chrono::milliseconds(100)));
    }
  }

  const Plant& plant_;
  const LiveOptions& options_;
  TelemetrySink& sink_;
  LiveResult& result_;
  Clock::time_point started_, next_progress_{};
  std::vector<int> first_machine_;
  std::vector<MachineSlot> machines_;
  double pending_time_ = 0;
};

}  // namespace

Result<LiveResult> run_live(const Plant& plant, const LiveOptions& options, TelemetrySink& sink) {
  if (!(options.speed >= 0) || !std::isfinite(options.speed)) return fail("--speed: must be a number >= 0 (0 = as fast as possible)");
  if (!(options.duration > 0) || options.duration > kMaxHorizon) return fail("--duration: must be > 0 and at most ten years");
  LiveOptions o = options;
  if (o.anchor_unix <= 0) {
    o.anchor_unix = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  LiveResult result;
  LiveObserver observer(plant, o, sink, result);
  SimulationOptions sim;
  sim.horizon = o.duration;
  sim.seed = o.seed;
  sim.observer = &observer;
  sim.estimator = o.estimator;
  auto started = Clock::now();
  auto run = simulate(plant, sim);
  if (!run) return std::unexpected(run.error());
  observer.send_states();
  if (!result.stopped) result.simulated_s = o.duration;
  result.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (o.progress) o.progress(result.simulated_s, result.readings, result.states);
  return result;
}

}  // namespace officina::twin
