// The continuous-batching scheduler: many sequences with different adapters
// in one batch give the tokens each gives alone; prefix reuse, chunked
// prefill, cancellation, the queue bound, embeddings.
#include "serve/scheduler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <set>

#include "generate/generator.h"
#include "serve_test_util.h"

namespace officina {
namespace {

struct Collected {
  std::mutex mutex;
  std::condition_variable cv;
  std::string text;
  std::vector<int32_t> tokens;
  std::string finish, error;
  int64_t cached = 0, completion = 0;
  bool done = false;

  std::function<void(const SequenceEvent&)> sink() {
    return [this](const SequenceEvent& e) {
      std::lock_guard lock(mutex);
      if (e.kind == SequenceEvent::Kind::Text) {
        text += e.text;
        if (e.token >= 0) tokens.push_back(e.token);
      } else {
        finish = e.finish;
        error = e.error;
        cached = e.cached_tokens;
        completion = e.completion_tokens;
        done = true;
      }
      cv.notify_all();
    };
  }
  void wait() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
  }
};

std::vector<int32_t> prompt_for(const Model& model, const std::string& text) {
  return model.tokenizer().encode(text, true, false);
}

GenerateResult alone(const Model& model, const std::vector<int32_t>& prompt, const LoraAdapter* adapter, int64_t n) {
  ThreadPool pool(1);
  Transformer t(model, pool);
  GenerateOptions options;
  options.max_tokens = n;
  options.sampling.temperature = 0;
  if (adapter) {
    t.set_adapters({adapter});
    options.adapter = 0;
  }
  auto cache = KvCache::create(model.config(), 1, 256, default_kv_precision(model));
  EXPECT_TRUE(cache.has_value());
  auto result = generate(t, *cache, 0, prompt, options);
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? *result : GenerateResult{};
}

std::unique_ptr<Scheduler> make_scheduler(const Model& model, SchedulerOptions options) {
  auto scheduler = Scheduler::create(model, options);
  EXPECT_TRUE(scheduler.has_value()) << (scheduler ? "" : scheduler.error().message);
  return scheduler ? std::move(*scheduler) : nullptr;
}

SchedulerOptions options_of(int64_t parallel, int64_t context, int threads = 1) {
  SchedulerOptions options;
  options.parallel = parallel;
  options.context = context;
  options.threads = threads;
  return options;
}

// A greedy request whose events go to `sink`.
SequenceRequest greedy(std::vector<int32_t> prompt, int64_t max_tokens, Collected& sink,
                       std::shared_ptr<const LoraAdapter> adapter = nullptr, std::string key = "") {
  SequenceRequest r;
  r.prompt = std::move(prompt);
  r.decode.max_tokens = max_tokens;
  r.decode.sampling.temperature = 0;
  r.adapter = std::move(adapter);
  r.adapter_key = std::move(key);
  r.on_event = sink.sink();
  return r;
}

TEST(Scheduler, SixteenSequencesOverFourAdaptersMatchTheirSoloRuns) {
  test::ServeFixture f(4);
  ASSERT_TRUE(f.model);
  SchedulerOptions options = options_of(16, 256, 2);
  options.step_tokens = 48;  // forces chunked prefill next to decoding rows
  auto scheduler = make_scheduler(*f.model, options);
  ASSERT_TRUE(scheduler);
  std::vector<std::unique_ptr<Collected>> results;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 16; ++i) {
    prompts.push_back(prompt_for(*f.model, "Request number " + std::to_string(i) + std::string(i * 3, '!') +
                                               " about the plant's line " + std::to_string(i % 5)));
    auto c = std::make_unique<Collected>();
    SequenceRequest r;
    r.prompt = prompts.back();
    r.decode.max_tokens = 12 + i % 5;
    r.decode.sampling.temperature = 0;
    if (i % 5 != 4) {
      r.adapter = f.adapters[static_cast<size_t>(i % 5)];
      r.adapter_key = "a" + std::to_string(i % 5);
    }
    r.on_event = c->sink();
    ASSERT_TRUE(scheduler->submit(std::move(r)).has_value());
    results.push_back(std::move(c));
  }
  for (auto& c : results) c->wait();
  std::set<std::string> distinct;
  for (int i = 0; i < 16; ++i) {
    const LoraAdapter* adapter = i % 5 != 4 ? f.adapters[static_cast<size_t>(i % 5)].get() : nullptr;
    GenerateResult want = alone(*f.model, prompts[static_cast<size_t>(i)], adapter, 12 + i % 5);
    EXPECT_EQ(results[static_cast<size_t>(i)]->error, "");
    EXPECT_EQ(results[static_cast<size_t>(i)]->tokens, want.tokens) << "sequence " << i;
    EXPECT_EQ(results[static_cast<size_t>(i)]->text, want.text) << "sequence " << i;
    EXPECT_EQ(results[static_cast<size_t>(i)]->finish, "length");
    distinct.insert(want.text);
  }
  EXPECT_GT(distinct.size(), 10u) << "adapters should change the output";
  const SchedulerStats stats = scheduler->stats();
  EXPECT_GT(stats.max_batch_rows, 16) << "decode rows and prefill chunks share forward passes";
  EXPECT_LE(stats.max_batch_rows, 48);
}

TEST(Scheduler, PrefixReuseSkipsTheSharedSystemPromptAndKeepsTheTokens) {
  test::ServeFixture f(1);
  ASSERT_TRUE(f.model);
  auto scheduler = make_scheduler(*f.model, options_of(2, 256, 1));
  ASSERT_TRUE(scheduler);
  const std::string system = "You are the copilot of a bottling plant. Answer briefly about machines and maintenance. ";
  std::vector<std::string> questions = {"What is the OEE of line 1?", "When does filler F2 fail?",
                                        "Which machine is the bottleneck?"};
  int64_t total_cached = 0;
  for (size_t q = 0; q < questions.size(); ++q) {
    auto prompt = prompt_for(*f.model, system + questions[q]);
    Collected c;
    ASSERT_TRUE(scheduler->submit(greedy(prompt, 8, c)).has_value());
    c.wait();
    EXPECT_EQ(c.tokens, alone(*f.model, prompt, nullptr, 8).tokens) << questions[q];
    if (q > 0) EXPECT_GE(c.cached, 15) << "the system prompt comes from the cache";
    total_cached += c.cached;
    // Another adapter must not reuse the base model's keys and values.
    Collected other;
    ASSERT_TRUE(scheduler->submit(greedy(prompt, 8, other, f.adapters[0], "a0")).has_value());
    other.wait();
    EXPECT_EQ(other.tokens, alone(*f.model, prompt, f.adapters[0].get(), 8).tokens);
  }
  EXPECT_GE(scheduler->stats().reused_tokens, total_cached);
  EXPECT_GT(total_cached, 30);
}

TEST(Scheduler, ARunningSequenceSharesItsPrefixWithANewOne) {
  test::ServeFixture f(0);
  ASSERT_TRUE(f.model);
  auto scheduler = make_scheduler(*f.model, options_of(2, 256, 1));
  ASSERT_TRUE(scheduler);
  const std::string system = "You are the copilot of a bottling plant with three lines, fillers, cappers and labellers. ";
  auto first_prompt = prompt_for(*f.model, system + "Summarise the night shift.");
  auto second_prompt = prompt_for(*f.model, system + "Which filler stopped?");
  Collected a, b;
  std::mutex m;
  std::condition_variable cv;
  bool a_started = false;
  SequenceRequest ra;
  ra.prompt = first_prompt;
  ra.decode.max_tokens = 60;
  ra.decode.sampling.temperature = 0;
  ra.decode.stop_at_end_of_generation = false;
  ra.on_event = [&, sink = a.sink()](const SequenceEvent& e) {
    sink(e);
    std::lock_guard lock(m);
    a_started = true;
    cv.notify_all();
  };
  ASSERT_TRUE(scheduler->submit(std::move(ra)).has_value());
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return a_started; });
  }
  SequenceRequest rb = greedy(second_prompt, 8, b);
  ASSERT_TRUE(scheduler->submit(std::move(rb)).has_value());
  b.wait();
  a.wait();
  EXPECT_GE(b.cached, 16) << "the shared system prompt is copied from the running slot";
  EXPECT_EQ(b.tokens, alone(*f.model, second_prompt, nullptr, 8).tokens);
  EXPECT_EQ(a.tokens, alone(*f.model, first_prompt, nullptr, 60).tokens);
}

TEST(Scheduler, CancelledAndTimedOutSequencesEndAndFreeTheirSlot) {
  test::ServeFixture f(0);
  ASSERT_TRUE(f.model);
  auto scheduler = make_scheduler(*f.model, options_of(1, 512, 1));
  ASSERT_TRUE(scheduler);
  Collected c;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  SequenceRequest r;
  r.prompt = prompt_for(*f.model, "Tell me everything");
  r.decode.max_tokens = 400;
  r.decode.stop_at_end_of_generation = false;
  r.cancel = cancel;
  r.on_event = [&, sink = c.sink()](const SequenceEvent& e) {
    sink(e);
    if (e.kind == SequenceEvent::Kind::Text && e.token >= 0) cancel->store(true);
  };
  ASSERT_TRUE(scheduler->submit(std::move(r)).has_value());
  c.wait();
  EXPECT_EQ(c.finish, "cancelled");
  EXPECT_LT(c.completion, 5);

  Collected t;
  SequenceRequest late;
  late.prompt = prompt_for(*f.model, "Too late");
  late.decode.max_tokens = 400;
  late.deadline = std::chrono::steady_clock::now();
  late.on_event = t.sink();
  ASSERT_TRUE(scheduler->submit(std::move(late)).has_value());
  t.wait();
  EXPECT_EQ(t.finish, "timeout");

  // The single slot is free again.
  Collected after;
  SequenceRequest next;
  next.prompt = prompt_for(*f.model, "Next");
  next.decode.max_tokens = 3;
  next.decode.stop_at_end_of_generation = false;
  next.on_event = after.sink();
  ASSERT_TRUE(scheduler->submit(std::move(next)).has_value());
  after.wait();
  EXPECT_EQ(after.finish, "length");
  EXPECT_EQ(after.completion, 3);
}

TEST(Scheduler, RefusesWhenTheQueueIsFullOrThePromptCannotFit) {
  test::ServeFixture f(0);
  ASSERT_TRUE(f.model);
  SchedulerOptions options = options_of(1, 64, 1);
  options.max_queue = 2;
  auto scheduler = make_scheduler(*f.model, options);
  ASSERT_TRUE(scheduler);
  std::vector<std::unique_ptr<Collected>> waits;
  int refused = 0;
  for (int i = 0; i < 12; ++i) {
    auto c = std::make_unique<Collected>();
    SequenceRequest r;
    r.prompt = prompt_for(*f.model, "queue " + std::to_string(i));
    r.decode.max_tokens = 40;
    r.decode.stop_at_end_of_generation = false;
    r.on_event = c->sink();
    auto ok = scheduler->submit(std::move(r));
    if (ok) {
      waits.push_back(std::move(c));
    } else {
      EXPECT_NE(ok.error().message.find("queue full"), std::string::npos) << ok.error().message;
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  for (auto& c : waits) c->wait();
  SequenceRequest big;
  big.prompt.assign(64, 5);
  auto too_long = scheduler->submit(std::move(big));
  ASSERT_FALSE(too_long.has_value());
  EXPECT_NE(too_long.error().message.find("context"), std::string::npos);
  SequenceRequest bad;
  bad.prompt = {1, 999999};
  EXPECT_FALSE(scheduler->submit(std::move(bad)).has_value());
  EXPECT_FALSE(scheduler->submit(SequenceRequest{}).has_value());
  EXPECT_FALSE(Scheduler::create(*f.model, SchedulerOptions{.parallel = 0}).has_value());
}

TEST(Scheduler, EmbeddingsAreUnitVectorsThatDependOnTheInput) {
  test::ServeFixture f(1);
  ASSERT_TRUE(f.model);
  SchedulerOptions options = options_of(1, 128, 0);
  options.step_tokens = 8;  // several chunks for one input
  auto scheduler = make_scheduler(*f.model, options);
  ASSERT_TRUE(scheduler);
  auto a = scheduler->embed(prompt_for(*f.model, "The filler on line two stops every morning at six"));
  auto b = scheduler->embed(prompt_for(*f.model, "The filler on line two stops every morning at six"));
  auto c = scheduler->embed(prompt_for(*f.model, "A completely different sentence"));
  auto d = scheduler->embed(prompt_for(*f.model, "The filler on line two stops every morning at six"), f.adapters[0]);
  ASSERT_TRUE(a && b && c && d);
  ASSERT_EQ(a->size(), static_cast<size_t>(f.model->config().dim));
  double norm = 0, dot_ac = 0;
  for (size_t i = 0; i < a->size(); ++i) norm += (*a)[i] * (*a)[i], dot_ac += (*a)[i] * (*c)[i];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(*a, *b);
  EXPECT_LT(dot_ac, 0.999);
  EXPECT_NE(*a, *d) << "an adapter changes the hidden states";
  // The mean of per-token states computed in one pass equals the chunked one.
  ThreadPool pool(1);
  Transformer t(*f.model, pool);
  auto cache = KvCache::create(f.model->config(), 1, 128, default_kv_precision(*f.model));
  auto tokens = prompt_for(*f.model, "The filler on line two stops every morning at six");
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, static_cast<int32_t>(i), -1, true});
  std::vector<float> hidden;
  ASSERT_TRUE(t.forward_hidden(rows, *cache, hidden).has_value());
  const int64_t dim = f.model->config().dim;
  std::vector<double> mean(static_cast<size_t>(dim), 0);
  for (size_t r = 0; r < tokens.size(); ++r)
    for (int64_t k = 0; k < dim; ++k) mean[static_cast<size_t>(k)] += hidden[r * dim + k];
  double mn = 0;
  for (double v : mean) mn += v * v;
  for (int64_t k = 0; k < dim; ++k) EXPECT_NEAR((*a)[static_cast<size_t>(k)], mean[static_cast<size_t>(k)] / std::sqrt(mn), 1e-4);
  EXPECT_FALSE(scheduler->embed({}).has_value());
}

}  // namespace
}  // namespace officina
