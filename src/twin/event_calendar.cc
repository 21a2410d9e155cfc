#include "twin/event_calendar.h"

#include <cassert>

namespace officina::twin {

void EventCalendar::push(double time, uint16_t kind, uint32_t target, uint16_t slot, uint32_t epoch) {
  Event e{time, next_seq_++, target, kind, slot, epoch};
  // Sift up with a hole instead of swaps.
  size_t i = heap_.size();
  heap_.push_back(e);
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

Event EventCalendar::pop() {
  assert(!heap_.empty());
  Event result = heap_.front();
  Event last = heap_.back();
  heap_.pop_back();
  const size_t n = heap_.size();
  if (n == 0) return result;
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], last)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = last;
  return result;
}

}  // namespace officina::twin
