#include "text/bpe_model.h"

#include <algorithm>
#include <queue>

#include "text/utf8.h"

namespace officina {

void BpeModel::add_rules_from_scores(const Vocabulary& vocab) {
  // Dense ranks of the distinct scores, best first, so equal scores tie and
  // the leftmost pair wins as in SentencePiece.
  std::vector<float> scores;
  std::vector<int32_t> candidates;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (vocab.text[id].size() < 2) continue;
    auto found = vocab.find_piece(vocab.text[id]);
    if (!found || *found != id) continue;
    candidates.push_back(id);
    scores.push_back(vocab.score[id]);
  }
  std::sort(scores.begin(), scores.end(), std::greater<float>());
  scores.erase(std::unique(scores.begin(), scores.end()), scores.end());
  reserve(candidates.size() * 4);
  for (int32_t id : candidates) {
    const std::string& t = vocab.text[id];
    const auto rank = static_cast<int32_t>(
        std::lower_bound(scores.begin(), scores.end(), vocab.score[id], std::greater<float>()) - scores.begin());
    // Split only at character boundaries: symbols are whole characters.
    size_t pos = utf8_decode(t, 0).length;
    while (pos < t.size()) {
      auto left = vocab.find_piece(std::string_view(t).substr(0, pos));
      auto right = vocab.find_piece(std::string_view(t).substr(pos));
      if (left && right) add_rule(*left, *right, rank, id);
      pos += utf8_decode(t, pos).length;
    }
  }
}

std::vector<BpeModel::RankedRule> BpeModel::rules_by_rank() const {
  std::vector<RankedRule> out;
  out.reserve(rules_.size());
  for (const auto& [key, rule] : rules_)
    out.push_back({rule.rank, static_cast<int32_t>(key >> 32), static_cast<int32_t>(key & 0xFFFFFFFFu), rule.result});
  std::sort(out.begin(), out.end(), [](const RankedRule& a, const RankedRule& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.left != b.left ? a.left < b.left : a.right < b.right;
  });
  return out;
}

void BpeModel::initial_symbols(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& ids) const {
  bool previous_unknown = false;
  auto push_unknown = [&] {
    if (options_.unk_id < 0) return;
    if (options_.fuse_unk && previous_unknown) return;
    ids.push_back(options_.unk_id);
    previous_unknown = true;
  };
  if (options_.byte_level) {
    for (char c : word) {
      const int32_t id = vocab.byte_token[static_cast<uint8_t>(c)];
      if (id >= 0) {
        ids.push_back(id);
        previous_unknown = false;
      } else {
        push_unknown();
      }
    }
    return;
  }
  size_t pos = 0;
  while (pos < word.size()) {
    const uint32_t len = utf8_decode(word, pos).length;
    const std::string_view ch = word.substr(pos, len);
    pos += len;
    if (auto id = vocab.find_piece(ch)) {
      ids.push_back(*id);
      previous_unknown = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && vocab.byte_token[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (char c : ch) ids.push_back(vocab.byte_token[static_cast<uint8_t>(c)]);
        previous_unknown = false;
        continue;
      }
    }
    push_unknown();
  }
}

void BpeModel::encode_word(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocab.find_piece(word)) {
      out.push_back(*id);
      return;
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  initial_symbols(vocab, word, ids);
  const auto n = static_cast<int32_t>(ids.size());
  if (n < 2) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }

  // Doubly linked list over the symbol slots; a merged pair lives on in the
  // left slot, the right slot is unlinked.
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t result;
  };
  // Best rank first, then the leftmost slot.
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> queue(worse);
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    if (const Rule* rule = find_rule(ids[left], ids[right])) queue.push({rule->rank, left, right, rule->result});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    // Stale when either side has merged since the candidate was queued.
    if (ids[c.left] < 0 || ids[c.right] < 0 || next[c.left] != c.right) continue;
    const Rule* rule = find_rule(ids[c.left], ids[c.right]);
    if (rule == nullptr || rule->result != c.result || rule->rank != c.rank) continue;
    ids[c.left] = c.result;
    ids[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    consider(prev[c.left], c.left);
    consider(c.left, next[c.left]);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

}  // namespace officina
