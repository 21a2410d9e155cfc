// The event calendar pops in time order, ties in insertion order, matching a
// sorted reference on random input.
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
