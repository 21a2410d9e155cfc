// Fine-tuning upload checks with the conformance tiny model's tokenizer and
// template: the report agrees with the trainer's own accounting, bad lines
// are named, hostile input (huge lines, deep nesting, huge numbers, NUL
// bytes, broken UTF-8) is refused cleanly, and where the upload's pieces
// happen to break never changes the outcome.
#include "platform/finetune_file_check.h"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "model/model.h"
#include "model/model_chat_template.h"
#include "test_util.h"
#include "train/train_data.h"

namespace officina {
namespace {

const char* const kMixed =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Sei breve.\"}, {\"role\": \"user\", \"content\": "
    "\"Stato della pressa 3?\"}, {\"role\": \"assistant\", \"content\": \"In marcia, più o meno.\"}]}\n"
    "\r\n"
    "{\"prompt\": \"Domanda: quando?\\nRisposta:\", \"completion\": \" entro 48 ore.\"}\r\n"
    "   \n"
    "{\"text\": \"La linea 2 produce telai: perché? Perché sì. \\u00e8 così\"}\n"
    "{\"input_ids\": [1, 450, 24638, 10430], \"labels\": [-100, 450, -100, 10430]}\n"
    "{\"text\": \"uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici\"}";

class FineTuneCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::conformance_path("models/tiny-gqa.gguf");
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing (set OFFICINA_CONFORMANCE_DIR)";
    auto m = Model::load(path);
    ASSERT_TRUE(m) << m.error().message;
    model = std::move(*m);
    auto t = model_chat_template(*model);
    ASSERT_TRUE(t) << t.error().message;
    tmpl = std::make_unique<ChatTemplate>(t->tmpl);
    options.tokenizer = &model->tokenizer();
    options.chat_template = tmpl.get();
    options.render = chat_render_options(*model);
    options.seq_len = 256;
  }

  // Checks TEXT fed in pieces of `piece` bytes (0: all at once).
  Result<FileCheckReport> check(std::string_view text, size_t piece = 0) const {
    FineTuneFileChecker checker(options);
    if (piece == 0) piece = std::max<size_t>(text.size(), 1);
    for (size_t pos = 0; pos < text.size(); pos += piece) {
      auto fed = checker.feed(text.substr(pos, piece));
      if (!fed) return std::unexpected(fed.error());
    }
    return checker.finish();
  }

  void expect_error(std::string_view text, const std::string& fragment) const {
    SCOPED_TRACE(std::string(text.substr(0, 200)));
    auto r = check(text);
    ASSERT_FALSE(r) << "accepted";
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  }

  std::unique_ptr<Model> model;
  std::unique_ptr<ChatTemplate> tmpl;
  FileCheckOptions options;
};

TEST_F(FineTuneCheck, ReportAgreesWithTheTrainer) {
  for (int64_t seq_len : {256, 12}) {
    SCOPED_TRACE(seq_len);
    options.seq_len = seq_len;
    auto report = check(kMixed);
    ASSERT_TRUE(report) << report.error().message;
    test::TempDir dir;
    test::write_file(dir.path("t.jsonl"), kMixed);
    DataOptions data;
    data.seq_len = seq_len;
    data.chat_template = tmpl.get();
    data.render = options.render;
    DataStats stats;
    auto samples = load_train_jsonl(dir.path("t.jsonl"), model->tokenizer(), data, &stats);
    ASSERT_TRUE(samples) << samples.error().message;
    EXPECT_EQ(report->format, "mixed");
    EXPECT_EQ(report->lines, stats.lines);
    EXPECT_EQ(report->lines, 5);
    EXPECT_EQ(report->samples, stats.samples);
    EXPECT_EQ(report->dropped, stats.dropped);
    EXPECT_EQ(report->over_seq_len, stats.truncated);
    EXPECT_EQ(report->total_tokens, stats.tokens);
    EXPECT_EQ(report->trained_tokens, stats.trained_tokens);
    EXPECT_GT(report->trained_tokens, 0);
    EXPECT_LE(report->min_tokens, report->max_tokens);
    EXPECT_GE(report->mean_tokens, static_cast<double>(report->min_tokens));
    EXPECT_LE(report->mean_tokens, static_cast<double>(report->max_tokens));
    EXPECT_EQ(report->to_json()["samples"], report->samples);
  }
  options.seq_len = 256;
  auto r = check(kMixed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->over_seq_len, 0);
  EXPECT_EQ(r->min_tokens, 4);  // the pre-tokenized sample
}

TEST_F(FineTuneCheck, NamesEachFormat) {
  const std::pair<std::string, std::string> cases[] = {
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"ciao\"}, {\"role\": \"assistant\", \"content\": "
       "\"salve\"}]}\n",
       "chat"},
      {"{\"prompt\": \"a\", \"completion\": \" b\"}\n{\"prompt\": \"c\", \"completion\": \" d\"}\n",
       "prompt_completion"},
      {"{\"text\": \"a b c\"}", "text"},
      {"{\"input_ids\": [1, 2, 3]}\n", "tokens"},
  };
  for (const auto& [text, format] : cases) {
    auto r = check(text);
    ASSERT_TRUE(r) << text << ": " << r.error().message;
    EXPECT_EQ(r->format, format);
  }
}

TEST_F(FineTuneCheck, BadLinesAreNamed) {
  expect_error("{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n"
               "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n",
               "line 3: message 0 has unknown role 'bot'");
  expect_error("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", "line 2: not valid JSON: ");
  expect_error("\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n", "line 3: no assistant message");
  expect_error("[1, 2]\n", "line 1: each line must be a JSON object");
  expect_error("{\"answer\": 42}\n", "line 1: a sample needs");
  expect_error("{\"input_ids\": [1, 999999]}\n", "line 1: \"input_ids\"[1] = 999999 is outside the vocabulary");
  expect_error("{\"text\": \"ok\"}\n{\"prompt\": \"x\"}", "line 2: \"prompt\" and \"completion\"");
  // A line cut off by a broken upload, with no newline after it.
  expect_error("{\"text\": \"ok\"}\n{\"messages\": [{\"role\": \"user\", \"cont", "line 2: not valid JSON");
}

TEST_F(FineTuneCheck, EmptyAndBlankFilesAreRefused) {
  expect_error("", "the file is empty");
  expect_error("\n \n\t\r\n", "the file is empty");
  options.seq_len = 2;  // nothing trainable survives in two tokens of a chat
  expect_error("{\"messages\": [{\"role\": \"user\", \"content\": \"una domanda lunga\"}, {\"role\": \"assistant\", "
               "\"content\": \"ok\"}]}\n",
               "no samples to train on (1 lines, 1 with nothing to train");
  options.seq_len = 1;
  expect_error("{\"text\": \"a\"}\n", "seq_len must be at least 2");
  options.seq_len = 256;
  options.tokenizer = nullptr;
  expect_error("{\"text\": \"a\"}\n", "no tokenizer");
}

TEST_F(FineTuneCheck, HostileInputIsRefusedCleanly) {
  options.max_line_bytes = 100;
  expect_error("{\"text\": \"a\"}\n" + std::string(30, '\n') + "{\"text\": \"" + std::string(200, 'x') + "\"}\n",
               "line 32: longer than 100 bytes");
  {
    // Found while the line is still arriving: a line without end is not held whole.
    FineTuneFileChecker checker(options);
    EXPECT_TRUE(checker.feed(std::string(60, ' ')));
    auto fed = checker.feed(std::string(60, ' '));
    ASSERT_FALSE(fed);
    EXPECT_NE(fed.error().message.find("line 1: longer than 100 bytes"), std::string::npos);
    // Spent: later calls repeat the error.
    EXPECT_EQ(checker.feed("{}\n").error().message, fed.error().message);
    EXPECT_EQ(checker.finish().error().message, fed.error().message);
  }
  options.max_line_bytes = size_t{1} << 20;
  std::string deep = "{\"messages\": [{\"role\": \"user\", \"content\": " + std::string(5000, '[') +
                     std::string(5000, ']') + "}]}\n";
  expect_error(deep, "line 1: JSON nested deeper than 64 levels");
  expect_error(std::string(100000, '[') + "\n", "nested deeper");
  // Brackets inside strings are text, not nesting.
  auto brackets = check("{\"text\": \"" + std::string(500, '[') + "\\\"" + std::string(500, '{') + "\"}\n");
  EXPECT_TRUE(brackets) << brackets.error().message;
  expect_error("{\"text\": 1e999}\n", "line 1: not valid JSON");
  expect_error("{\"input_ids\": [1, 99999999999999999999999999]}\n", "not an integer");
  expect_error("{\"input_ids\": [1, 18446744073709551615]}\n", "outside the vocabulary");
  expect_error("{\"input_ids\": [1, -5]}\n", "outside the vocabulary");
  expect_error(std::string("{\"text\": \"a\0b\"}\n", 16), "line 1: contains a NUL byte");
  expect_error("{\"text\": \"ok\"}\n{\"text\": \"caf\xe9\"}\n", "line 2: invalid UTF-8 at byte 14");
  expect_error("{\"text\": \"\xed\xa0\x80\"}\n", "invalid UTF-8");  // a UTF-16 surrogate
  expect_error("{\"text\": \"a\x01" "b\"}\n", "not valid JSON");          // raw control character
  expect_error("{\"text\": \"ok\"}\n\x1b[31m{\"text\": \"x\"}\n", "line 2: not valid JSON");
  // An escaped NUL is a character like any other, as the trainer sees it.
  EXPECT_TRUE(check("{\"text\": \"a\\u0000b\"}\n"));
  options.max_messages = 4;
  const std::string turns = "{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}";
  EXPECT_TRUE(check("{\"messages\": [" + turns + ", " + turns + "]}\n"));
  expect_error("{\"text\": \"a\"}\n{\"messages\": [" + turns + ", " + turns + ", " + turns + "]}\n",
               "line 2: 6 messages in one sample; at most 4 are accepted");
  options.max_lines = 3;
  EXPECT_TRUE(check("{\"text\": \"a\"}\n\n{\"text\": \"b\"}"));
  expect_error("{\"text\": \"a\"}\n\n\n{\"text\": \"b\"}", "line 4: the file has more than 3 lines");
}

TEST_F(FineTuneCheck, ChunkBoundariesNeverChangeTheOutcome) {
  const std::string good = kMixed;
  const std::string bad = std::string(kMixed) + "\n{\"text\": \"caf\xc3\xa9\"}\n{\"messages\": 5}\n";
  for (const std::string& text : {good, bad}) {
    auto whole = check(text);
    auto same = [&](const Result<FileCheckReport>& r, const std::string& how) {
      ASSERT_EQ(bool(r), bool(whole)) << how;
      if (whole) {
        EXPECT_EQ(r->to_json(), whole->to_json()) << how;
      } else {
        EXPECT_EQ(r.error().message, whole.error().message) << how;
      }
    };
    same(check(text, 1), "byte by byte");
    for (size_t split = 0; split <= text.size(); ++split) {
      FineTuneFileChecker checker(options);
      auto a = checker.feed(std::string_view(text).substr(0, split));
      auto b = a ? checker.feed(std::string_view(text).substr(split)) : a;
      same(b ? checker.finish() : std::unexpected(b.error()), "split at " + std::to_string(split));
    }
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
      FineTuneFileChecker checker(options);
      Result<void> fed;
      for (size_t pos = 0; pos < text.size() && fed;) {
        const size_t n = std::min<size_t>(text.size() - pos, rng() % 40);
        fed = checker.feed(std::string_view(text).substr(pos, n));
        pos += n;
      }
      same(fed ? checker.finish() : std::unexpected(fed.error()), "random pieces, round " + std::to_string(round));
    }
  }
  auto whole_bad = check(bad);
  ASSERT_FALSE(whole_bad);
  EXPECT_NE(whole_bad.error().message.find("line 9: \"messages\" must be a non-empty array"), std::string::npos)
      << whole_bad.error().message;
}

}  // namespace
}  // namespace officina
