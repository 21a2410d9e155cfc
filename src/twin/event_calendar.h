// The simulator's future event list: a 4-ary min-heap ordered by time, ties
// broken by insertion order (a sequence number), so runs are reproducible
// whatever the heap's internal layout. Events are plain 32-byte records with
// integer payloads (no closures): push and pop never allocate once the heap
// has grown to its working size.
// Why 4-ary and branch-free: a simulation's pending times are close to random
// order, so a binary heap's "which child is smaller" branch mispredicts at
// almost every level. Here the key (time, seq) is one 128-bit unsigned
// integer (the bits of a non-negative double order like the double), the
// smallest of four children is picked with flag arithmetic instead of jumps,
// and the levels are half as many. Slots past the end hold a sentinel key
// larger than any event, so every node has four children to compare.
// pop() leaves the root slot empty until the next call; a push in between
// (the usual case: an event schedules its successor) drops the new event
// there and sinks it, one sift instead of a sift-down of the last leaf plus
// a sift-up of the new event.
// Not thread-safe; one calendar per run.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
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
  EventCalendar() { clear(); }
  void reserve(size_t n) {
    if (n + kPad > heap_.size()) heap_.resize(n + kPad, sentinel());
  }
  void clear();
  bool empty() const { return size() == 0; }
  size_t size() const { return size_ - (hole_ ? 1 : 0); }
  uint64_t pushed() const { return next_seq_; }

  // time must be >= 0 (infinity is allowed: it pops last).
  void push(double time, uint16_t kind, uint32_t target, uint16_t slot = 0, uint32_t epoch = 0) {
    assert(time >= 0);
    Node e;
    e.time_bits = bits_of(time + 0.0);  // + 0.0 turns -0.0 into +0.0
    e.seq = next_seq_++;
    e.target = target;
    e.kind = kind;
    e.slot = slot;
    e.epoch = epoch;
    if (hole_) {
      // The root was popped and not yet refilled: the new event takes its
      // place. It is usually due soon, so it stops high, where the last leaf
      // (usually due late) would have sunk to the bottom.
      hole_ = false;
      sift_down(e);
      return;
    }
    if (size_ + kPad > heap_.size()) grow();
    Node* h = heap_.data();
    size_t i = size_++;
    while (i > 0) {
      size_t parent = (i - 1) / 4;
      if (!before(e, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }

  // The time of the earliest event; infinity when the calendar is empty.
  double next_time() {
    if (hole_) close_hole();
    return size_ == 0 ? std::numeric_limits<double>::infinity() : time_of(heap_[0].time_bits);
  }

  // Removes and returns the earliest event; the calendar must not be empty.
  // The root is left empty until the next call: a push in between fills it.
  Event pop() {
    if (hole_) close_hole();
    assert(size_ > 0);
    const Node& top = heap_[0];
    hole_ = true;
    return Event{time_of(top.time_bits), top.seq, top.target, top.kind, top.slot, top.epoch};
  }

 private:
  struct Node {
    uint64_t seq;
    uint64_t time_bits;  // the bits of a non-negative double: ordered like it
    uint32_t target;
    uint16_t kind;
    uint16_t slot;
    uint32_t epoch;
    uint32_t unused;
  };
  static_assert(sizeof(Node) == 32);
  // Sentinel slots kept past the end: pop reads up to index size + 2.
  static constexpr size_t kPad = 4;

  static uint64_t bits_of(double t) {
    uint64_t b;
    std::memcpy(&b, &t, sizeof b);
    return b;
  }
  static double time_of(uint64_t b) {
    double t;
    std::memcpy(&t, &b, sizeof t);
    return t;
  }
  // (time, seq) as one 128-bit number: a compare and a subtract-with-borrow, no jump.
  static bool before(const Node& a, const Node& b) {
    const unsigned __int128 ka = static_cast<unsigned __int128>(a.time_bits) << 64 | a.seq;
    const unsigned __int128 kb = static_cast<unsigned __int128>(b.time_bits) << 64 | b.seq;
    return ka < kb;
  }
  static Node sentinel() { return Node{~0ull, ~0ull, 0, 0, 0, 0, 0}; }
  void grow();

  // Removes the empty root: the last leaf moves there and sinks.
  void close_hole() {
    hole_ = false;
    const size_t n = --size_;
    const Node last = heap_[n];
    heap_[n] = sentinel();
    if (n > 0) sift_down(last);  // n == 0: the popped root was the last event
  }

  // Puts e in the root slot (whose content is dead) and sinks it among the
  // size_ nodes. The children of i are 4i+1..4i+4, all readable thanks to the
  // sentinel padding; the smallest of the four is picked without a jump.
  void sift_down(const Node& e) {
    Node* h = heap_.data();
    const size_t n = size_;
    size_t i = 0;
    for (size_t c = 1; c < n; c = 4 * i + 1) {
      const size_t b01 = c + before(h[c + 1], h[c]);
      const size_t b23 = c + 2 + before(h[c + 3], h[c + 2]);
      // A mask, not a ?: or a multiply, which GCC turns back into a jump.
      const size_t take23 = -static_cast<size_t>(before(h[b23], h[b01]));
      const size_t best = b01 ^ ((b01 ^ b23) & take23);
      if (!before(h[best], e)) break;
      h[i] = h[best];
      i = best;
    }
    h[i] = e;
  }

  std::vector<Node> heap_;  // [0, size_) the heap, then sentinels
  size_t size_ = 0;
  bool hole_ = false;  // heap_[0] was popped and is dead
  uint64_t next_seq_ = 0;
};

}  // namespace officina::twin
