// Internal: the simulator's engine (simulator.h is the public face). The
// event handlers live in simulation_engine.cc, building the run-time state
// and computing the KPIs in simulation_setup.cc.
#pragma once

#include <optional>
#include <vector>

#include "twin/event_calendar.h"
#include "twin/simulator.h"
#include "twin/simulator_state.h"

namespace officina::twin::detail {

enum EventKind : uint16_t {
  kServerDone,
  kFailure,
  kRepairDone,
  kPmDue,
  kPmDone,
  kSensorTick,
  kArrival,
  kShiftChange,
  kPredictCheck,
};

class SimulationEngine {
 public:
  SimulationEngine(const Plant& plant, const SimulationOptions& options);
  Result<SimulationResult> run();

 private:
  // simulation_setup.cc
  void build();
  void start();
  void finish();
  RunKpis kpis() const;

  // simulation_engine.cc
  void handle(const Event& e);
  void on_server_done(MachineState& m, int s);
  void on_failure(MachineState& m, int mode);
  void on_repair_done(MachineState& m);
  void on_pm_due(MachineState& m);
  void on_pm_done(MachineState& m);
  void on_sensor_tick(MachineState& m);
  void on_arrival(int line);
  void on_shift_change();
  void on_predict_check(MachineState& m);

  void kick(int machine);
  void drain();
  void settle(MachineState& m);
  bool take_part(MachineState& m, Part& part);
  void deliver(MachineState& m, const Part& part);  // to the next queue or the exit
  void start_part(MachineState& m, Server& s, const Part& part);
  void start_processing(MachineState& m, Server& s);
  void set_running(MachineState& m);
  void go_down(MachineState& m, int cause);
  void come_up(MachineState& m);
  void close_downtime(MachineState& m);
  void fail(MachineState& m, int mode);
  void request_pm(MachineState& m);
  void dispatch_crews();
  void renew_all(MachineState& m);
  void wip_change(LineState& line, int delta);
  uint32_t next_product(LineState& line);
  void sample_sensors(MachineState& m);
  void report_status();  // live mode: tells the observer which machines changed

  // Seconds of [a, b) inside the statistics window; planned() also inside shifts.
  double window(double a, double b) const;
  double planned(double a, double b) const;
  bool counting() const { return now_ >= warmup_; }
  int cause_index(const MachineState& m, int offset) const {
    return static_cast<int>(m.spec->failure_modes.size()) + offset;
  }
  static int id(const MachineState& m) { return static_cast<int>(m.id); }

  const Plant& plant_;
  SimulationOptions options_;
  double horizon_ = 0, warmup_ = 0, now_ = 0;
  bool in_shift_ = true;
  bool always_on_ = true;
  EventCalendar calendar_;
  std::vector<MachineState> machines_;
  std::vector<LineState> lines_;
  std::vector<PartQueue> queues_;
  std::vector<int> worklist_;
  std::vector<int> corrective_queue_, pm_queue_;  // FIFO rings of machine ids
  size_t corrective_head_ = 0, pm_head_ = 0;
  int free_crews_ = 0;
  uint64_t events_ = 0;
  SimulationResult result_;
  std::optional<Error> error_;  // an estimator failed: the run stops
  std::vector<uint8_t> reported_status_;  // live mode: last MachineStatus told, 0xff = none
};

}  // namespace officina::twin::detail
