#include "twin/event_calendar.h"

#include <algorithm>

namespace officina::twin {

void EventCalendar::clear() {
  heap_.assign(std::max(heap_.size(), kPad), sentinel());
  size_ = 0;
  hole_ = false;
  next_seq_ = 0;
}

void EventCalendar::grow() {
  // Doubling keeps push amortised O(log n); new slots are sentinels.
  heap_.resize(std::max<size_t>(2 * heap_.size(), size_ + kPad), sentinel());
}

}  // namespace officina::twin
