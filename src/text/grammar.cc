#include "text/grammar.h"

#include <algorithm>
#include <deque>

#include "text/utf8.h"

namespace officina {

CharClass::CharClass(std::vector<CodeRange> ranges, bool negated) : negated_(negated) {
  std::sort(ranges.begin(), ranges.end(), [](CodeRange a, CodeRange b) { return a.first < b.first; });
  for (CodeRange r : ranges) {
    if (!ranges_.empty() && r.first <= ranges_.back().last + 1)
      ranges_.back().last = std::max(ranges_.back().last, r.last);
    else
      ranges_.push_back(r);
  }
  for (char32_t cp = 0; cp < 128; ++cp)
    if (contains(cp) != negated_) ascii_[cp >> 6] |= uint64_t{1} << (cp & 63);
}

bool CharClass::contains(char32_t cp) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), cp,
                             [](char32_t c, CodeRange r) { return c < r.first; });
  return it != ranges_.begin() && cp <= std::prev(it)->last;
}

bool CharClass::intersects(char32_t first, char32_t last) const {
  if (!negated_) {
    for (CodeRange r : ranges_)
      if (r.first <= last && first <= r.last) return true;
    return false;
  }
  // Merged ranges: [first, last] is excluded only when one range covers it.
  for (CodeRange r : ranges_)
    if (r.first <= first && last <= r.last) return false;
  return true;
}

bool CharClass::operator==(const CharClass& other) const {
  if (negated_ != other.negated_ || ranges_.size() != other.ranges_.size()) return false;
  for (size_t i = 0; i < ranges_.size(); ++i)
    if (ranges_[i].first != other.ranges_[i].first || ranges_[i].last != other.ranges_[i].last) return false;
  return true;
}

std::string grammar_location(std::string_view text, std::string_view where, int64_t offset) {
  int64_t line = 1, column = 1;
  size_t pos = 0;
  const size_t end = std::min<size_t>(static_cast<size_t>(std::max<int64_t>(offset, 0)), text.size());
  while (pos < end) {
    if (text[pos] == '\n') {
      ++line;
      column = 1;
      ++pos;
      continue;
    }
    pos += utf8_decode(text, pos).length;
    ++column;
  }
  return fmt::format("{}:{}:{}", where, line, column);
}

namespace {

using Parts = Grammar::Parts;

struct LeftEdge {
  uint32_t to;
  bool tail;  // the reference is the last element: its continuation is the caller's
};

// Rules that can match the empty string (fixpoint over the rules).
std::vector<bool> nullable_rules(const Parts& parts) {
  std::vector<bool> nullable(parts.rules.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < parts.rules.size(); ++r) {
      if (nullable[r]) continue;
      for (const auto& alt : parts.rules[r]) {
        bool all = std::all_of(alt.begin(), alt.end(), [&](const GrammarElement& e) {
          return e.op == GrammarOp::Rule && nullable[e.arg];
        });
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  return nullable;
}

// Strongly connected components (iterative Tarjan) of the "can start with" graph.
std::vector<uint32_t> components(const std::vector<std::vector<LeftEdge>>& graph) {
  const uint32_t n = static_cast<uint32_t>(graph.size());
  constexpr uint32_t kUnset = UINT32_MAX;
  std::vector<uint32_t> index(n, kUnset), low(n, 0), comp(n, kUnset), stack;
  std::vector<bool> on_stack(n, false);
  std::vector<std::pair<uint32_t, size_t>> frames;
  uint32_t next_index = 0, next_comp = 0;
  for (uint32_t start = 0; start < n; ++start) {
    if (index[start] != kUnset) continue;
    frames.push_back({start, 0});
    index[start] = low[start] = next_index++;
    stack.push_back(start);
    on_stack[start] = true;
    while (!frames.empty()) {
      auto& [v, edge] = frames.back();
      if (edge < graph[v].size()) {
        uint32_t w = graph[v][edge++].to;
        if (index[w] == kUnset) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          on_stack[w] = true;
          frames.push_back({w, 0});
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      if (low[v] == index[v]) {
        uint32_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          comp[w] = next_comp;
        } while (w != v);
        ++next_comp;
      }
      uint32_t done = v;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
    }
  }
  return comp;
}

// A reference reachable before any input is consumed, and not in tail
// position, grows the matcher's stack without bound: refuse it. (Tail-position
// cycles such as `r ::= x? r | ""` are harmless: the matcher de-duplicates
// stacks and the continuation does not grow.)
Result<void> check_left_recursion(const Parts& parts, std::string_view text, std::string_view where) {
  const auto nullable = nullable_rules(parts);
  std::vector<std::vector<LeftEdge>> graph(parts.rules.size());
  for (size_t r = 0; r < parts.rules.size(); ++r) {
    for (const auto& alt : parts.rules[r]) {
      for (size_t i = 0; i < alt.size(); ++i) {
        if (alt[i].op != GrammarOp::Rule) break;
        graph[r].push_back({alt[i].arg, i + 1 == alt.size()});
        if (!nullable[alt[i].arg]) break;
      }
    }
  }
  const auto comp = components(graph);
  for (uint32_t r = 0; r < graph.size(); ++r) {
    for (const LeftEdge& e : graph[r]) {
      if (e.tail || comp[e.to] != comp[r]) continue;
      // Path e.to -> ... -> r inside the component, for the message.
      std::vector<int64_t> from(graph.size(), -1);
      std::deque<uint32_t> queue{e.to};
      from[e.to] = e.to;
      while (!queue.empty() && from[r] < 0) {
        uint32_t v = queue.front();
        queue.pop_front();
        for (const LeftEdge& f : graph[v])
          if (comp[f.to] == comp[r] && from[f.to] < 0) from[f.to] = v, queue.push_back(f.to);
      }
      std::vector<std::string> path{parts.rule_names[r]};
      for (uint32_t v = r; v != e.to && from[v] >= 0;) {
        v = static_cast<uint32_t>(from[v]);
        path.push_back(parts.rule_names[v]);
      }
      std::string chain = parts.rule_names[r];
      for (auto it = path.rbegin(); it != path.rend(); ++it) chain += " -> " + *it;
      return fail("{}: left recursion: rule '{}' can reach itself before matching any character ({}); "
                  "rewrite it with repetition, e.g. `list ::= item (\",\" item)*`",
                  grammar_location(text, where, parts.rule_offsets[r]), parts.rule_names[r], chain);
    }
  }
  return {};
}

// Rules that can derive at least one string. An unproductive rule simply
// never matches (the matcher finds no stacks through it), but an
// unproductive root is a grammar that accepts nothing: say so.
Result<void> check_root_productive(const Parts& parts, std::string_view text, std::string_view where) {
  std::vector<bool> productive(parts.rules.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < parts.rules.size(); ++r) {
      if (productive[r]) continue;
      for (const auto& alt : parts.rules[r]) {
        bool all = std::all_of(alt.begin(), alt.end(), [&](const GrammarElement& e) {
          return e.op != GrammarOp::Rule || productive[e.arg];
        });
        if (all) {
          productive[r] = changed = true;
          break;
        }
      }
    }
  }
  if (!productive[parts.root])
    return fail("{}: rule 'root' can never match: every alternative needs a rule that only refers to itself",
                grammar_location(text, where, parts.rule_offsets[parts.root]));
  return {};
}

}  // namespace

Result<Grammar> Grammar::from_parts(Parts parts, std::string_view text, std::string_view where) {
  OFFICINA_CHECK(check_left_recursion(parts, text, where));
  OFFICINA_CHECK(check_root_productive(parts, text, where));
  Grammar g;
  g.rule_names_ = std::move(parts.rule_names);
  g.classes_ = std::move(parts.classes);
  g.root_ = parts.root;
  g.rule_alts_.reserve(parts.rules.size() + 1);
  for (auto& rule : parts.rules) {
    g.rule_alts_.push_back(static_cast<uint32_t>(g.alt_starts_.size()));
    for (auto& alt : rule) {
      g.alt_starts_.push_back(static_cast<uint32_t>(g.elements_.size()));
      g.elements_.insert(g.elements_.end(), alt.begin(), alt.end());
      g.elements_.push_back({GrammarOp::End, 0});
    }
  }
  g.rule_alts_.push_back(static_cast<uint32_t>(g.alt_starts_.size()));
  return g;
}

}  // namespace officina
