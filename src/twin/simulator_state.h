// Internal run-time state of the simulator (not a public header): parts,
// part queues, servers and machines as plain structs.
#pragma once

#include <cstdint>
#include <vector>

#include "twin/plant.h"
#include "twin/random_streams.h"
#include "twin/rul_estimator.h"

namespace officina::twin::detail {

struct Part {
  double entry = 0;   // when it entered the line
  double queued = 0;  // when it entered its current queue
  uint32_t product = 0;
};

// A FIFO ring of parts; capacity 0 means unlimited (grows by doubling).
class PartQueue {
 public:
  explicit PartQueue(int64_t capacity = 0) : capacity_(capacity) {
    ring_.resize(capacity > 0 ? static_cast<size_t>(capacity) : 64);
  }
  bool empty() const { return count_ == 0; }
  bool full() const { return capacity_ > 0 && count_ >= static_cast<size_t>(capacity_); }
  size_t size() const { return count_; }
  // Wrap by compare, not %: the ring size is rarely a power of two and a
  // division per part showed in profiles.
  void push(const Part& p) {
    if (count_ == ring_.size()) grow();
    size_t tail = head_ + count_;
    if (tail >= ring_.size()) tail -= ring_.size();
    ring_[tail] = p;
    ++count_;
  }
  Part pop() {
    Part p = ring_[head_];
    if (++head_ == ring_.size()) head_ = 0;
    --count_;
    return p;
  }

 private:
  void grow() {
    std::vector<Part> bigger(ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_.swap(bigger);
    head_ = 0;
  }
  std::vector<Part> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  int64_t capacity_;
};

enum class Activity : uint8_t { kIdle, kSetup, kProcessing, kBlocked };

struct Server {
  Activity activity = Activity::kIdle;
  double end = 0;        // completion time while running
  double remaining = 0;  // left to do while paused
  double since = 0;      // start of the current accounting interval
  double duration = 0;   // sampled processing time of the current part
  uint32_t epoch = 0;
  uint16_t index = 0;    // in MachineState::servers
  Part part;
};

struct FailureClock {
  double due = 0;
  double remaining = 0;
  uint32_t epoch = 0;
};

struct MachineStats {
  double processing = 0;  // server-seconds in the statistics window
  double setup = 0;
  double blocked = 0;
  double ideal = 0;  // ideal seconds of the parts processed
  std::vector<double> downtime;  // seconds per cause
  uint64_t good = 0, scrap = 0, failures = 0, preventive = 0;
  uint64_t predictive = 0;  // maintenance requests made by the predictive policy
  double wait_sum = 0;
  uint64_t wait_count = 0;
  double labour_cost = 0, parts_cost = 0;
};

// A wear state's increment per part: rate * processing seconds, times a
// mean-one lognormal factor exp(sigma * z + shift), shift = -sigma^2 / 2;
// precomputed so the hot path has no log1p or sqrt.
struct WearGrowth {
  double rate_per_second = 0;
  double sigma = 0;
  double shift = 0;
};

// A failure mode triggered by a wear state (checked after each part).
struct WearTrigger {
  int mode = 0;
  int degradation = 0;
  double threshold = 0;
};

struct MachineState {
  const Machine* spec = nullptr;
  uint32_t id = 0;          // index in SimulationEngine::machines_
  uint32_t line = 0;
  uint32_t spec_index = 0;  // index in Line::machines
  int in_queue = -1;        // -1: an endless source of raw parts
  int out_queue = -1;       // -1: the line's exit
  int upstream = -1, downstream = -1;  // machine ids

  bool up = true;
  bool running = false;  // up and in shift
  bool pm_requested = false, pm_deferred = false;
  int down_cause = -1;
  int failed_mode = -1;
  double down_since = 0;
  int last_product = -1;
  int blocked_count = 0;
  double renewed_at = 0;
  double sensor_period = 0;
  bool in_worklist = false;
  bool predictive = false;  // predictive policy: keeps history rows for the estimator
  bool estimated = false;   // health/rul below hold an estimate
  RulEstimate health;       // the last estimate (predictive policy)

  std::vector<Server> servers;
  std::vector<FailureClock> clocks;  // one per failure mode
  std::vector<double> wear;          // one per degradation
  std::vector<WearGrowth> growth;    // one per degradation
  std::vector<double> sensor_value, sensor_due;
  std::vector<double> history;       // rows of the current run, when recording

  // Copied from the spec so that a part's completion reads only this struct.
  bool has_setup = false;
  double scrap_probability = 0;
  std::vector<WearTrigger> wear_failures;  // in failure-mode order
  int condition_wear = -1;                 // condition maintenance on this wear state
  double condition_threshold = 0;

  Sampler cycle, setup, maintenance;
  std::vector<Sampler> ttf, repair;
  double ideal_cycle = 0;
  RandomStream cycle_rng, setup_rng, scrap_rng, wear_rng, maintenance_rng;
  std::vector<RandomStream> failure_rng, repair_rng, sensor_rng;
  MachineStats stats;
};

struct LineState {
  int first_machine = 0;  // machine id of order[0]
  int last_machine = 0;
  int input_queue = -1;
  double arrival_mean = 0;
  bool poisson = true;
  std::vector<double> mix_cdf;
  int64_t lot_size = 1, lot_left = 0;
  uint32_t lot_product = 0;
  RandomStream arrival_rng, mix_rng;
  int64_t wip = 0;
  double wip_area = 0, wip_since = 0;
  uint64_t good = 0, scrap = 0, lost = 0;
  double lead_time_sum = 0;
};

// Downtime causes after the failure modes.
enum CauseOffset : int { kCausePreventive = 0, kCauseCondition = 1, kCauseSetup = 2, kCauseWaitingCrew = 3, kCauseCount = 4 };

}  // namespace officina::twin::detail
