// The event calendar pops in time order, ties in insertion order, matching a
// sorted reference on random input, at heap sizes around the 4-ary levels and
// with the pop-then-push pattern that reuses the root.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "twin/event_calendar.h"
#include "twin/random_streams.h"

namespace officina::twin {
namespace {

TEST(EventCalendar, TiesPopInInsertionOrder) {
  EventCalendar c;
  for (uint32_t i = 0; i < 10; ++i) c.push(5.0, 0, i);
  c.push(1.0, 0, 99);
  EXPECT_EQ(c.pop().target, 99u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(c.pop().target, i);
  EXPECT_TRUE(c.empty());
}

TEST(EventCalendar, MatchesASortedReferenceUnderInterleavedPushAndPop) {
  EventCalendar c;
  RandomStream rng(9, 9);
  std::vector<std::pair<double, uint64_t>> reference;  // (time, seq) still pending
  uint64_t seq = 0;
  double now = 0;
  for (int step = 0; step < 20000; ++step) {
    if (reference.empty() || rng.uniform() < 0.55) {
      // Coarse times make ties common.
      double t = now + std::floor(rng.uniform() * 20);
      c.push(t, 1, static_cast<uint32_t>(seq));
      reference.emplace_back(t, seq++);
    } else {
      auto it = std::min_element(reference.begin(), reference.end());
      Event e = c.pop();
      ASSERT_EQ(e.time, it->first);
      ASSERT_EQ(e.seq, it->second);
      now = e.time;
      reference.erase(it);
    }
  }
  EXPECT_EQ(c.size(), reference.size());
}

TEST(EventCalendar, APushAfterAPopFillsTheRootInOrder) {
  // pop() leaves the root empty and the next push takes it: the order must
  // not notice, whether the new event is the earliest, the latest or a tie.
  EventCalendar c;
  for (uint32_t i = 0; i < 40; ++i) c.push(10.0 + (i % 7), 0, i);
  EXPECT_EQ(c.size(), 40u);
  Event first = c.pop();
  EXPECT_EQ(first.time, 10.0);
  EXPECT_EQ(first.target, 0u);
  EXPECT_EQ(c.size(), 39u);
  c.push(1.0, 0, 100);  // earlier than everything left
  EXPECT_EQ(c.size(), 40u);
  EXPECT_EQ(c.next_time(), 1.0);
  EXPECT_EQ(c.pop().target, 100u);
  c.push(10.0, 0, 101);  // ties with the pending 10 s events, so pops after them
  c.push(1e9, 0, 102);
  std::vector<uint32_t> order;
  double last = 0;
  while (!c.empty()) {
    Event e = c.pop();
    EXPECT_GE(e.time, last);
    last = e.time;
    order.push_back(e.target);
  }
  const std::vector<uint32_t> tens = {7, 14, 21, 28, 35, 101};
  EXPECT_EQ(std::vector<uint32_t>(order.begin(), order.begin() + 6), tens);
  EXPECT_EQ(order.back(), 102u);
  EXPECT_EQ(order.size(), 41u);
  EXPECT_EQ(c.next_time(), std::numeric_limits<double>::infinity());
}

TEST(EventCalendar, KeepsPayloadsAndHandlesZeroAndInfiniteTimes) {
  EventCalendar c;
  c.push(std::numeric_limits<double>::infinity(), 3, 7, 2, 9);
  c.push(-0.0, 1, 5, 65535, 4000000000u);
  c.push(0.0, 2, 6);
  Event a = c.pop();
  EXPECT_EQ(a.time, 0.0);
  EXPECT_FALSE(std::signbit(a.time));
  EXPECT_EQ(a.kind, 1);
  EXPECT_EQ(a.target, 5u);
  EXPECT_EQ(a.slot, 65535);
  EXPECT_EQ(a.epoch, 4000000000u);
  EXPECT_EQ(c.pop().target, 6u);
  Event inf = c.pop();
  EXPECT_EQ(inf.time, std::numeric_limits<double>::infinity());
  EXPECT_EQ(inf.kind, 3);
  EXPECT_EQ(inf.slot, 2);
  EXPECT_EQ(inf.epoch, 9u);
  EXPECT_TRUE(c.empty());
  c.push(5, 0, 1);
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.pushed(), 0u);
  c.push(2, 0, 8);
  EXPECT_EQ(c.pop().seq, 0u);
}

TEST(EventCalendar, MatchesASortedReferenceAtEverySize) {
  // Sizes around the 4-ary levels (1, 5, 21, 85, 341...) and a hold pattern:
  // pop one, push one or two, as the simulator does.
  for (size_t size : {1u, 4u, 5u, 6u, 20u, 21u, 22u, 85u, 86u, 340u, 1000u}) {
    EventCalendar c;
    RandomStream rng(size, 3);
    std::vector<std::pair<double, uint64_t>> reference;
    uint64_t seq = 0;
    for (size_t i = 0; i < size; ++i) {
      double t = std::floor(rng.uniform() * 50);
      c.push(t, 0, 0);
      reference.emplace_back(t, seq++);
    }
    for (int step = 0; step < 3000; ++step) {
      auto it = std::min_element(reference.begin(), reference.end());
      Event e = c.pop();
      ASSERT_EQ(e.time, it->first) << "size " << size << " step " << step;
      ASSERT_EQ(e.seq, it->second) << "size " << size << " step " << step;
      reference.erase(it);
      const int pushes = reference.size() < size ? 1 + (rng.uniform() < 0.1) : 1;
      for (int k = 0; k < pushes; ++k) {
        double t = e.time + std::floor(rng.uniform() * 60);
        c.push(t, 0, 0);
        reference.emplace_back(t, seq++);
      }
    }
    EXPECT_EQ(c.size(), reference.size());
  }
}

TEST(Calendar, ShiftsAndPlannedTime) {
  Calendar cal{2, 8, 5};  // 16 h a day, Monday to Friday
  const double h = 3600, d = 86400;
  EXPECT_TRUE(cal.in_shift(0));
  EXPECT_TRUE(cal.in_shift(15.5 * h));
  EXPECT_FALSE(cal.in_shift(16 * h));
  EXPECT_EQ(cal.next_change(0), 16 * h);
  EXPECT_EQ(cal.next_change(16 * h), d);
  EXPECT_EQ(cal.next_change(4 * d + 17 * h), 7 * d);  // Friday evening -> Monday
  EXPECT_EQ(cal.planned_before(d), 16 * h);
  EXPECT_EQ(cal.planned_before(7 * d), 80 * h);
  EXPECT_EQ(cal.planned_before(7 * d + 3 * h), 83 * h);
  Calendar always;
  EXPECT_EQ(always.next_change(5), std::numeric_limits<double>::infinity());
  EXPECT_EQ(always.planned_before(12345), 12345);
  Calendar weekdays_round_the_clock{3, 8, 5};
  EXPECT_EQ(weekdays_round_the_clock.next_change(h), 5 * d);
  EXPECT_FALSE(weekdays_round_the_clock.in_shift(5 * d + h));
}

}  // namespace
}  // namespace officina::twin
