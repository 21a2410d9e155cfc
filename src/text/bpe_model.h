// The BPE merge loop shared by both vocabulary kinds. A word (one
// pre-tokenized piece) starts as one symbol per character (SentencePiece) or
// per byte (byte-level); the adjacent pair with the best rank is merged
// repeatedly, leftmost first among equal ranks, until no pair has a rule.
// A priority queue over a linked list of symbols keeps this O(n log n) in
// the length of the word, so one huge word (SentencePiece vocabularies split
// nothing) stays fast.
//
// Rules come from a merges list (rank = line number; tokenizer.json, GGUF
// "gpt2") or from SentencePiece scores (a pair whose concatenation is a
// token ranks by that token's score, higher first; GGUF "llama").
// Thread-safety: immutable after construction; encode_word is const.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/vocabulary.h"

namespace officina {

struct BpeOptions {
  bool byte_level = false;     // symbols are bytes, not characters
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens
  bool ignore_merges = false;  // a word that is itself a token is emitted whole
  bool fuse_unk = false;       // consecutive unknown characters give one <unk>
  int32_t unk_id = -1;         // -1: unknown characters are dropped
};

class BpeModel {
 public:
  struct Rule {
    int32_t rank;    // lower merges first
    int32_t result;  // the merged token
  };

  BpeModel() = default;
  explicit BpeModel(BpeOptions options) : options_(options) {}

  const BpeOptions& options() const { return options_; }
  BpeOptions& options() { return options_; }

  // Adds a rule unless the pair already has one (the first, best, wins).
  void add_rule(int32_t left, int32_t right, int32_t rank, int32_t result) {
    rules_.try_emplace(pair_key(left, right), Rule{rank, result});
  }
  size_t rule_count() const { return rules_.size(); }
  struct RankedRule {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t result;
  };
  // Every rule, best rank first (ties by left then right id); for export.
  std::vector<RankedRule> rules_by_rank() const;
  void reserve(size_t n) { rules_.reserve(n); }

  // Derives rules from SentencePiece scores: for every token of a piece type
  // and every split of its text into two tokens that are pieces, a rule
  // ranked by the whole token's score (ties ranked equal).
  void add_rules_from_scores(const Vocabulary& vocab);

  // Appends the ids of one word.
  void encode_word(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& out) const;

 private:
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Rule* find_rule(int32_t left, int32_t right) const {
    auto it = rules_.find(pair_key(left, right));
    return it == rules_.end() ? nullptr : &it->second;
  }
  // The starting symbols of a word: ids, with -1 for nothing.
  void initial_symbols(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& ids) const;

  BpeOptions options_;
  std::unordered_map<uint64_t, Rule> rules_;
};

}  // namespace officina
