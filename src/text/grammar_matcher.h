// Incremental matching of UTF-8 text against a Grammar.
//
// The matcher keeps a set of pushdown stacks, one per way the text so far
// can continue. A stack is a chain of (position, parent) nodes: the top
// position is the next element to match in some alternative, the parent is
// where to go once that rule is done. Nodes are hash-consed in a pool, so two
// stacks with the same content are the same node id: de-duplicating stacks is
// a comparison of integers, and ambiguous grammars (`(a | a)*`) stay at a
// handful of stacks instead of doubling per character. The top of every live
// stack is a character class; the empty stack (id 0) means root has matched.
//
// Input arrives as bytes; a code point split across calls (a token ending in
// the middle of a UTF-8 sequence) is kept as partial state, and a partial
// sequence is already rejected when no live character class contains any
// code point it could still become. Invalid UTF-8 is always rejected.
//
// Failure: accept() returns false and leaves the state unchanged when the
// bytes are not a prefix of a sentence of the grammar. When one step would
// need more than GrammarMatcherLimits::max_stacks stacks (a grammar too
// ambiguous to follow), accept() also returns false and error() says so.
// Thread-safety: not thread-safe, not even the const members (they use the
// shared node pool as scratch). One matcher per sequence; the Grammar must
// outlive it and may be shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "text/grammar.h"

namespace officina {

struct GrammarMatcherLimits {
  size_t max_stacks = 4096;         // live stacks after one character
  size_t max_expansions = 1u << 16; // rule expansions while advancing one character
  // Accepted text leaves dead nodes in the pool; past this many, accept()
  // rebuilds the pool from the live stacks.
  size_t compact_at_nodes = 1u << 20;
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(const Grammar& grammar, GrammarMatcherLimits limits = {});

  // Advances over `bytes` if they continue a sentence of the grammar;
  // returns false (state unchanged) otherwise. Empty input is accepted.
  bool accept(std::string_view bytes);
  // Whether accept(bytes) would succeed; the state does not change.
  bool can_accept(std::string_view bytes) const;
  // The text so far is a complete sentence of root (end of generation is
  // allowed here); false while a UTF-8 sequence is incomplete.
  bool is_complete() const;
  // Some non-empty continuation is possible.
  bool can_continue() const;
  // Complete and nothing may follow: generation must stop.
  bool must_end() const { return is_complete() && !can_continue(); }
  // Back to the start of root.
  void reset();
  // Set when a step exceeded the limits; the state is the one before it.
  const std::optional<Error>& error() const { return error_; }

  const Grammar& grammar() const { return grammar_; }
  size_t stack_count() const { return state_.tops.size(); }

 private:
  friend class GrammarTokenFilter;

  struct Node {
    uint32_t pos;     // element index; never an End element
    uint32_t parent;  // node id; 0 = the root is done
  };
  // The UTF-8 sequence read so far when it is incomplete.
  struct Partial {
    uint32_t code_point = 0;  // bits read so far
    uint8_t need = 0;         // continuation bytes still to come; 0 = none pending
    uint8_t lead = 0;         // lead byte (it constrains the second byte)
    uint8_t seen = 0;         // continuation bytes read
  };
  struct State {
    std::vector<uint32_t> tops;  // node ids (0 = empty stack), no duplicates
    Partial partial;
  };

  // Node pool: hash-consed (pos, parent) pairs with LIFO rollback, so the
  // token filter can try thousands of prefixes and then drop their nodes.
  uint32_t intern(uint32_t pos, uint32_t parent) const;
  uint32_t pool_mark() const { return static_cast<uint32_t>(nodes_.size()); }
  void pool_rollback(uint32_t mark) const;
  void rehash(size_t slots) const;
  void compact();

  // One byte from `from` into `to`; false when the byte is rejected (or a
  // limit was hit, which also sets overflow_).
  bool step_byte(const State& from, uint8_t byte, State& to) const;
  bool step_code_point(const std::vector<uint32_t>& tops, char32_t cp, std::vector<uint32_t>& out) const;
  bool any_class_intersects(const std::vector<uint32_t>& tops, char32_t first, char32_t last) const;
  // Adds the stacks reachable from node `id` whose top is a character class
  // (or the empty stack) to `out`.
  void expand(uint32_t id, std::vector<uint32_t>& out) const;
  uint32_t successor(uint32_t pos, uint32_t parent) const;
  // expand() of a node, memoised: [begin, end) in memo_tops_.
  std::pair<uint32_t, uint32_t> expansion(uint32_t id) const;
  void forget_expansions() const;
  void next_epoch() const;
  bool run(const State& from, std::string_view bytes, State& to) const;

  const Grammar& grammar_;
  GrammarMatcherLimits limits_;
  State state_;
  std::optional<Error> error_;
  size_t compact_threshold_ = 0;

  mutable std::vector<Node> nodes_;
  mutable std::vector<uint32_t> table_;  // open addressing; 0 = empty slot
  mutable std::vector<uint32_t> visited_;
  mutable uint32_t epoch_ = 0;
  mutable std::vector<uint32_t> work_;
  mutable std::vector<uint32_t> out_marks_;  // de-duplicates one step's stacks
  struct Memo {
    uint32_t generation = 0, begin = 0, end = 0;
  };
  mutable std::vector<Memo> memo_;           // by node id
  mutable std::vector<uint32_t> memo_tops_;
  mutable uint32_t memo_generation_ = 1;
  mutable size_t expansions_ = 0;
  mutable bool overflow_ = false;
  mutable State scratch_a_, scratch_b_, probe_;
  mutable std::vector<State> levels_;  // GrammarTokenFilter's per-depth states
};

}  // namespace officina
