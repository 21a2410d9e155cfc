#include "text/text_pipeline.h"

#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace officina {

namespace {

void replace_all_in_place(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty() || text.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(text, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
}

void apply_normalizer(const NormalizerStep& step, std::string& text) {
  switch (step.kind) {
    case NormalizerStep::Kind::Prepend:
      if (!text.empty()) text.insert(0, step.content);
      break;
    case NormalizerStep::Kind::Replace:
      replace_all_in_place(text, step.pattern, step.content);
      break;
  }
}

// Digit runs (or single digits) and the text between them.
void split_digits(std::string_view word, bool individual, std::vector<std::string>& out) {
  size_t start = 0;
  int previous = -1;  // class of the previous character: 1 digit, 0 other
  size_t pos = 0;
  while (pos < word.size()) {
    Utf8Char c = utf8_decode(word, pos);
    const int cls = unicode_is_number(c.code_point) ? 1 : 0;
    if (previous >= 0 && (cls != previous || (cls == 1 && individual))) {
      out.emplace_back(word.substr(start, pos - start));
      start = pos;
    }
    previous = cls;
    pos += c.length;
  }
  if (pos > start) out.emplace_back(word.substr(start, pos - start));
}

// Metaspace's split: every word begins at a replacement character.
void split_before(std::string_view word, std::string_view marker, std::vector<std::string>& out) {
  size_t start = 0;
  for (size_t pos = word.find(marker, 1); pos != std::string_view::npos; pos = word.find(marker, pos + marker.size())) {
    out.emplace_back(word.substr(start, pos - start));
    start = pos;
  }
  if (word.size() > start) out.emplace_back(word.substr(start));
}

void apply_pre_tokenizer(const PreTokenizerStep& step, bool first_segment, std::vector<std::string>& words) {
  std::vector<std::string> next;
  next.reserve(words.size());
  std::vector<std::string_view> pieces;
  for (size_t w = 0; w < words.size(); ++w) {
    std::string& word = words[w];
    switch (step.kind) {
      case PreTokenizerStep::Kind::Split:
        pieces.clear();
        split_pattern_apply(step.pattern, word, pieces);
        for (std::string_view p : pieces) next.emplace_back(p);
        break;
      case PreTokenizerStep::Kind::ByteLevel:
        if (step.add_prefix_space && !word.starts_with(' ')) word.insert(0, " ");
        if (step.use_regex) {
          pieces.clear();
          split_pattern_apply(SplitPattern::Gpt2, word, pieces);
          for (std::string_view p : pieces) next.emplace_back(p);
        } else {
          next.push_back(std::move(word));
        }
        break;
      case PreTokenizerStep::Kind::Digits:
        split_digits(word, step.individual_digits, next);
        break;
      case PreTokenizerStep::Kind::Metaspace: {
        replace_all_in_place(word, " ", step.replacement);
        const bool prepend = step.prepend_scheme == PrependScheme::Always ||
                             (step.prepend_scheme == PrependScheme::First && first_segment && w == 0);
        if (prepend && !word.starts_with(step.replacement)) word.insert(0, step.replacement);
        if (step.split)
          split_before(word, step.replacement, next);
        else
          next.push_back(std::move(word));
        break;
      }
    }
  }
  words = std::move(next);
}

}  // namespace

void TextPipeline::run(std::string_view segment, bool first_segment, std::vector<std::string>& out) const {
  std::string text(segment);
  for (const NormalizerStep& step : normalizer) apply_normalizer(step, text);
  if (text.empty()) return;
  std::vector<std::string> words;
  words.push_back(std::move(text));
  for (const PreTokenizerStep& step : pre_tokenizer) apply_pre_tokenizer(step, first_segment, words);
  for (std::string& w : words)
    if (!w.empty()) out.push_back(std::move(w));
}

bool TextPipeline::adds_prefix_space() const {
  for (const NormalizerStep& step : normalizer)
    if (step.kind == NormalizerStep::Kind::Prepend && (step.content == " " || step.content == "\xE2\x96\x81"))
      return true;
  for (const PreTokenizerStep& step : pre_tokenizer)
    if (step.kind == PreTokenizerStep::Kind::Metaspace && step.prepend_scheme != PrependScheme::Never) return true;
  return false;
}

}  // namespace officina
