// Training data: every JSONL format, the assistant-only mask of chat samples,
// the next-token shift, packing, the truncation policy, and bad input.
#include <fstream>

#include <gtest/gtest.h>

#include "model/model.h"
#include "model/model_chat_template.h"
#include "test_util.h"
#include "train/train_data.h"

namespace officina {
namespace {

class TrainData : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::load(test::conformance_path("models/tiny-gqa.gguf"));
    ASSERT_TRUE(m) << m.error().message;
    model = std::move(*m);
    auto t = model_chat_template(*model);
    ASSERT_TRUE(t);
    tmpl = std::make_unique<ChatTemplate>(t->tmpl);
    options.seq_len = 256;
    options.chat_template = tmpl.get();
    options.render = chat_render_options(*model);
  }
  Result<TrainSample> sample(const std::string& json) {
    return sample_from_json(nlohmann::ordered_json::parse(json), model->tokenizer(), options, "t.jsonl:1");
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir.path(name)) << text;
    return dir.path(name);
  }
  std::unique_ptr<Model> model;
  std::unique_ptr<ChatTemplate> tmpl;
  DataOptions options;
  test::TempDir dir;
};

std::vector<int32_t> trained(const TrainSample& s) {
  std::vector<int32_t> out;
  for (int32_t l : s.labels)
    if (l != -100) out.push_back(l);
  return out;
}

TEST_F(TrainData, ChatSamplesTrainOnlyTheAssistantTurns) {
  auto s = sample(R"({"messages": [{"role": "system", "content": "Sei breve."},
    {"role": "user", "content": "Stato della pressa 3?"},
    {"role": "assistant", "content": "In marcia."},
    {"role": "user", "content": "E la linea 2?"},
    {"role": "assistant", "content": "Ferma per cambio formato."}]})");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->labels.size(), s->tokens.size());
  std::string text = model->tokenizer().decode(trained(*s), false);
  // Both replies with their end-of-turn marker, nothing of the system or user turns.
  EXPECT_NE(text.find("In marcia.<|im_end|>"), std::string::npos) << text;
  EXPECT_NE(text.find("Ferma per cambio formato.<|im_end|>"), std::string::npos) << text;
  EXPECT_EQ(text.find("pressa"), std::string::npos) << text;
  EXPECT_EQ(text.find("Sei breve"), std::string::npos) << text;
  for (size_t t = 0; t < s->tokens.size(); ++t)
    if (s->labels[t] != -100) EXPECT_EQ(s->labels[t], s->tokens[t]);
}

TEST_F(TrainData, PromptCompletionTextAndPretokenized) {
  auto pc = sample(R"({"prompt": "Domanda: quando?\nRisposta:", "completion": " entro 48 ore."})");
  ASSERT_TRUE(pc);
  std::string completion = model->tokenizer().decode(trained(*pc), false);
  EXPECT_NE(completion.find("entro 48 ore."), std::string::npos) << completion;
  EXPECT_EQ(completion.find("Domanda"), std::string::npos);
  EXPECT_EQ(pc->tokens.back(), model->tokenizer().eos_id());

  auto text = sample(R"({"text": "La linea 2 produce telai."})");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->labels, text->tokens);
  EXPECT_EQ(text->tokens.front(), model->tokenizer().bos_id());

  auto ids = sample(R"({"input_ids": [1, 450, 24638, 10430], "labels": [-100, 450, -100, 10430]})");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->tokens, (std::vector<int32_t>{1, 450, 24638, 10430}));
  // The shift: position t predicts labels[t + 1].
  auto seqs = make_sequences({*ids}, {0}, 16, false);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].targets, (std::vector<int32_t>{450, -1, 10430, -1}));
}

TEST_F(TrainData, PackingKeepsSamplesApart) {
  std::vector<TrainSample> samples(3);
  samples[0].tokens = samples[0].labels = {1, 2, 3};
  samples[1].tokens = samples[1].labels = {4, 5};
  samples[2].tokens = samples[2].labels = {6, 7, 8, 9};
  auto packed = make_sequences(samples, {0, 1, 2}, 6, true);
  ASSERT_EQ(packed.size(), 2u);
  EXPECT_EQ(packed[0].tokens, (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(packed[0].positions, (std::vector<int32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(packed[0].segments, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(packed[0].targets, (std::vector<int32_t>{2, 3, -1, 5, -1}));  // never across samples
  EXPECT_EQ(packed[1].tokens, (std::vector<int32_t>{6, 7, 8, 9}));
  auto unpacked = make_sequences(samples, {2, 0, 1}, 6, false);
  ASSERT_EQ(unpacked.size(), 3u);
  EXPECT_EQ(unpacked[0].tokens.front(), 6);
}

TEST_F(TrainData, TruncationAndDroppingAreCounted) {
  options.seq_len = 8;
  std::string path = write("d.jsonl",
                           "{\"text\": \"uno due tre quattro cinque sei sette otto nove dieci undici dodici\"}\n"
                           "\n"
                           "{\"input_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], \"labels\": [-100, -100, -100, -100, "
                           "-100, -100, -100, -100, 9, 10]}\n"
                           "{\"text\": \"breve\"}\n");
  DataStats stats;
  auto samples = load_train_jsonl(path, model->tokenizer(), options, &stats);
  ASSERT_TRUE(samples) << samples.error().message;
  EXPECT_EQ(stats.lines, 3);
  EXPECT_EQ(stats.truncated, 2);
  EXPECT_EQ(stats.dropped, 1);  // the pre-tokenized sample had only labels past the cut
  EXPECT_EQ(stats.samples, 2);
  for (const auto& s : *samples) EXPECT_LE(s.tokens.size(), 8u);
}

TEST_F(TrainData, BadInputNamesFileAndLine) {
  struct Case {
    std::string text, expected;
  };
  const Case cases[] = {
      {"{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", ":2: not valid JSON"},
      {"{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n", ":1: message 0 has unknown role 'bot'"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n", ":1: no assistant message"},
      {"{\"messages\": []}\n", "non-empty array"},
      {"{\"input_ids\": [1, 2], \"labels\": [1]}\n", "\"labels\" has 1 entries"},
      {"{\"input_ids\": [1, 999999]}\n", "outside the vocabulary"},
      {"{\"input_ids\": [1, \"x\"]}\n", "not an integer"},
      {"{\"prompt\": \"x\"}\n", "\"prompt\" and \"completion\""},
      {"{\"answer\": 42}\n", "needs \"messages\""},
      {"[1, 2]\n", "JSON object"},
      {"", "no samples"},
      {"\n\n", "no samples"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::string path = write("bad.jsonl", c.text);
    auto r = load_train_jsonl(path, model->tokenizer(), options, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("bad.jsonl"), std::string::npos) << r.error().message;
  }
  auto missing = load_train_jsonl(dir.path("none.jsonl"), model->tokenizer(), options, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace officina
