#include "text/grammar_matcher.h"

#include <algorithm>

namespace officina {

namespace {

constexpr size_t kInitialSlots = 1024;

size_t slot_of(uint32_t pos, uint32_t parent, size_t mask) {
  uint64_t h = ((uint64_t{pos} << 32) | parent) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> 29) & mask;
}

// The allowed range of the second byte depends on the lead byte: this is
// what rules out overlong forms, surrogates and values above U+10FFFF.
bool second_byte_ok(uint8_t lead, uint8_t b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

}  // namespace

GrammarMatcher::GrammarMatcher(const Grammar& grammar, GrammarMatcherLimits limits)
    : grammar_(grammar), limits_(limits) {
  reset();
}

void GrammarMatcher::reset() {
  nodes_.assign(1, Node{0, 0});
  table_.assign(kInitialSlots, 0);
  visited_.clear();
  out_marks_.clear();
  forget_expansions();
  compact_threshold_ = limits_.compact_at_nodes;
  error_.reset();
  overflow_ = false;
  state_ = State{};
  next_epoch();
  expansions_ = 0;
  for (uint32_t start : grammar_.alternatives(grammar_.root()))
    expand(grammar_.element(start).op == GrammarOp::End ? 0 : intern(start, 0), state_.tops);
  if (overflow_) {
    error_ = Error{fmt::format("grammar: more than {} parse stacks at the start of rule 'root' (the grammar is "
                               "too ambiguous to follow)", limits_.max_stacks)};
    state_.tops.clear();
  }
}

uint32_t GrammarMatcher::intern(uint32_t pos, uint32_t parent) const {
  if ((nodes_.size() + 1) * 2 > table_.size()) rehash(table_.size() * 2);
  const size_t mask = table_.size() - 1;
  for (size_t s = slot_of(pos, parent, mask);; s = (s + 1) & mask) {
    uint32_t id = table_[s];
    if (id == 0) {
      id = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back({pos, parent});
      table_[s] = id;
      return id;
    }
    if (nodes_[id].pos == pos && nodes_[id].parent == parent) return id;
  }
}

// Linear probing with insertion in id order means every entry that probed
// past a slot was inserted after the slot's owner, so removing the newest
// entries first is just clearing their slots.
void GrammarMatcher::pool_rollback(uint32_t mark) const {
  if (mark < nodes_.size()) forget_expansions();  // entries may name the dropped ids
  const size_t mask = table_.size() - 1;
  for (uint32_t id = static_cast<uint32_t>(nodes_.size()); id-- > mark;) {
    for (size_t s = slot_of(nodes_[id].pos, nodes_[id].parent, mask);; s = (s + 1) & mask) {
      if (table_[s] == id) {
        table_[s] = 0;
        break;
      }
    }
  }
  nodes_.resize(mark);
}

void GrammarMatcher::rehash(size_t slots) const {
  table_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (uint32_t id = 1; id < nodes_.size(); ++id) {
    size_t s = slot_of(nodes_[id].pos, nodes_[id].parent, mask);
    while (table_[s] != 0) s = (s + 1) & mask;
    table_[s] = id;
  }
}

void GrammarMatcher::compact() {
  std::vector<Node> old = std::move(nodes_);
  std::vector<uint32_t> remap(old.size(), UINT32_MAX);
  remap[0] = 0;
  nodes_.assign(1, Node{0, 0});
  table_.assign(kInitialSlots, 0);
  std::vector<uint32_t> chain;
  for (uint32_t& top : state_.tops) {
    chain.clear();
    for (uint32_t id = top; remap[id] == UINT32_MAX; id = old[id].parent) chain.push_back(id);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      remap[*it] = intern(old[*it].pos, remap[old[*it].parent]);
    top = remap[top];
  }
  visited_.clear();
  out_marks_.clear();
  forget_expansions();
}

uint32_t GrammarMatcher::successor(uint32_t pos, uint32_t parent) const {
  return grammar_.element(pos + 1).op == GrammarOp::End ? parent : intern(pos + 1, parent);
}

void GrammarMatcher::expand(uint32_t id, std::vector<uint32_t>& out) const {
  const size_t base = out.size();
  work_.clear();
  work_.push_back(id);
  while (!work_.empty()) {
    const uint32_t v = work_.back();
    work_.pop_back();
    if (v >= visited_.size()) visited_.resize(std::max<size_t>(nodes_.size(), v + 1) * 2, 0);
    if (visited_[v] == epoch_) continue;
    visited_[v] = epoch_;
    if (v == 0) {
      out.push_back(0);
      continue;
    }
    const Node n = nodes_[v];
    const GrammarElement e = grammar_.element(n.pos);
    if (e.op == GrammarOp::Chars) {
      out.push_back(v);
      if (out.size() - base > limits_.max_stacks) {
        overflow_ = true;
        return;
      }
      continue;
    }
    if (++expansions_ > limits_.max_expansions) {
      overflow_ = true;
      return;
    }
    const uint32_t cont = successor(n.pos, n.parent);
    for (uint32_t start : grammar_.alternatives(e.arg))
      work_.push_back(grammar_.element(start).op == GrammarOp::End ? cont : intern(start, cont));
  }
}

void GrammarMatcher::next_epoch() const {
  if (++epoch_ == 0) {  // wrapped: stale marks could read as current
    std::fill(visited_.begin(), visited_.end(), 0);
    std::fill(out_marks_.begin(), out_marks_.end(), 0);
    epoch_ = 1;
  }
}

// The stacks a node expands to depend on the node alone (nodes are
// immutable), so they are computed once and reused: in the token filter's
// trie walk, the ~100 sibling bytes that a class like [^"\\] accepts all
// lead to the same successor node.
std::pair<uint32_t, uint32_t> GrammarMatcher::expansion(uint32_t id) const {
  if (id >= memo_.size()) memo_.resize(std::max<size_t>(nodes_.size(), id + 1) * 2);
  Memo& m = memo_[id];
  if (m.generation == memo_generation_) return {m.begin, m.end};
  next_epoch();
  expansions_ = 0;
  const uint32_t begin = static_cast<uint32_t>(memo_tops_.size());
  expand(id, memo_tops_);
  if (overflow_) {
    memo_tops_.resize(begin);
    return {begin, begin};
  }
  m = {memo_generation_, begin, static_cast<uint32_t>(memo_tops_.size())};
  return {m.begin, m.end};
}

void GrammarMatcher::forget_expansions() const {
  if (++memo_generation_ == 0) {
    memo_.assign(memo_.size(), Memo{});
    memo_generation_ = 1;
  }
  memo_tops_.clear();
}

bool GrammarMatcher::step_code_point(const std::vector<uint32_t>& tops, char32_t cp,
                                     std::vector<uint32_t>& out) const {
  out.clear();
  next_epoch();
  const uint32_t step = epoch_;
  for (uint32_t top : tops) {
    if (top == 0) continue;
    const Node n = nodes_[top];
    if (!grammar_.char_class(grammar_.element(n.pos).arg).matches(cp)) continue;
    const auto [begin, end] = expansion(successor(n.pos, n.parent));
    if (overflow_) return false;
    if (out_marks_.size() < nodes_.size()) out_marks_.resize(nodes_.size() * 2, 0);
    for (uint32_t i = begin; i < end; ++i) {
      const uint32_t t = memo_tops_[i];
      if (out_marks_[t] == step) continue;
      out_marks_[t] = step;
      out.push_back(t);
    }
    if (out.size() > limits_.max_stacks) {
      overflow_ = true;
      return false;
    }
  }
  return !out.empty();
}

bool GrammarMatcher::any_class_intersects(const std::vector<uint32_t>& tops, char32_t first, char32_t last) const {
  for (uint32_t top : tops)
    if (top != 0 && grammar_.char_class(grammar_.element(nodes_[top].pos).arg).intersects(first, last)) return true;
  return false;
}

bool GrammarMatcher::step_byte(const State& from, uint8_t b, State& to) const {
  const Partial& p = from.partial;
  Partial next;
  if (p.need == 0) {
    if (b < 0x80) {
      to.partial = {};
      return step_code_point(from.tops, b, to.tops);
    }
    if (b >= 0xC2 && b <= 0xDF) {
      next = {static_cast<uint32_t>(b & 0x1F), 1, b, 0};
    } else if (b >= 0xE0 && b <= 0xEF) {
      next = {static_cast<uint32_t>(b & 0x0F), 2, b, 0};
    } else if (b >= 0xF0 && b <= 0xF4) {
      next = {static_cast<uint32_t>(b & 0x07), 3, b, 0};
    } else {
      return false;
    }
  } else {
    if ((b & 0xC0) != 0x80) return false;
    if (p.seen == 0 && !second_byte_ok(p.lead, b)) return false;
    next = {(p.code_point << 6) | (b & 0x3Fu), static_cast<uint8_t>(p.need - 1), p.lead,
            static_cast<uint8_t>(p.seen + 1)};
    if (next.need == 0) {
      to.partial = {};
      return step_code_point(from.tops, next.code_point, to.tops);
    }
  }
  // Still inside a sequence: keep it only if some class can take one of the
  // code points it may become.
  const uint32_t length = 1u + next.seen + next.need;
  const uint32_t bits = 6u * next.need;
  char32_t first = next.code_point << bits;
  char32_t last = first | ((1u << bits) - 1);
  first = std::max<char32_t>(first, length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000);
  last = std::min<char32_t>(last, 0x10FFFF);
  if (first > last || !any_class_intersects(from.tops, first, last)) return false;
  to.tops = from.tops;
  to.partial = next;
  return true;
}

bool GrammarMatcher::run(const State& from, std::string_view bytes, State& to) const {
  if (bytes.empty()) {
    to = from;
    return true;
  }
  const State* current = &from;
  State* buffers[2] = {&scratch_a_, &scratch_b_};
  for (size_t i = 0; i < bytes.size(); ++i) {
    State& next = *buffers[i & 1];
    if (!step_byte(*current, static_cast<uint8_t>(bytes[i]), next)) return false;
    current = &next;
  }
  to.tops = current->tops;
  to.partial = current->partial;
  return true;
}

bool GrammarMatcher::accept(std::string_view bytes) {
  overflow_ = false;
  const uint32_t mark = pool_mark();
  State next;
  if (!run(state_, bytes, next)) {
    pool_rollback(mark);
    if (overflow_)
      error_ = Error{fmt::format("grammar: more than {} parse stacks or {} rule expansions for one character "
                                 "(the grammar is too ambiguous to follow)",
                                 limits_.max_stacks, limits_.max_expansions)};
    return false;
  }
  state_ = std::move(next);
  if (nodes_.size() > compact_threshold_) {
    compact();
    // When most nodes are live (deep nesting), compacting again at once would
    // make every step pay for the whole pool.
    compact_threshold_ = std::max(limits_.compact_at_nodes, 2 * nodes_.size());
  }
  return true;
}

bool GrammarMatcher::can_accept(std::string_view bytes) const {
  overflow_ = false;
  const uint32_t mark = pool_mark();
  bool ok = run(state_, bytes, probe_);
  pool_rollback(mark);
  return ok;
}

bool GrammarMatcher::is_complete() const {
  return state_.partial.need == 0 && std::find(state_.tops.begin(), state_.tops.end(), 0u) != state_.tops.end();
}

bool GrammarMatcher::can_continue() const {
  return state_.partial.need != 0 || std::any_of(state_.tops.begin(), state_.tops.end(), [](uint32_t t) { return t != 0; });
}

}  // namespace officina
