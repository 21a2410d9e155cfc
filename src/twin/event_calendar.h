// The simulator's future event list: a binary min-heap ordered by time, ties
// broken by insertion order (a sequence number), so runs are reproducible
// whatever the heap's internal layout. Events are plain 32-byte records with
// integer payloads (no closures): push and pop never allocate once the heap
// has grown to its working size. Not thread-safe; one calendar per run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace officina::twin {

struct Event {
  double time = 0;
  uint64_t seq = 0;     // insertion order: the tie-break
  uint32_t target = 0;  // machine or line index, by kind
  uint16_t kind = 0;
  uint16_t slot = 0;    // server, failure mode or sensor within the target
  uint32_t epoch = 0;   // the target's epoch when scheduled: stale events are skipped
};

class EventCalendar {
 public:
  void reserve(size_t n) { heap_.reserve(n); }
  void clear() {
    heap_.clear();
    next_seq_ = 0;
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint64_t pushed() const { return next_seq_; }

  void push(double time, uint16_t kind, uint32_t target, uint16_t slot = 0, uint32_t epoch = 0);
  // The earliest event; the calendar must not be empty.
  const Event& top() const { return heap_.front(); }
  Event pop();

 private:
  static bool before(const Event& a, const Event& b) {
    return a.time < b.time || (a.time == b.time && a.seq < b.seq);
  }
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace officina::twin
