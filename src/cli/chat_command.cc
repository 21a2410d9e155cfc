// officina chat -m MODEL [--system TEXT] [--chat-template FILE] [--lora PATH[:SCALE]] [--tools FILE.json
//               [--tool-choice auto|none|required|NAME]] [-n N] [sampling]
// An interactive conversation on the terminal: each line read from stdin is
// a user turn; the model's reply streams back and joins the history, which
// is rendered with the model's chat template every turn. "/reset" forgets
// the history, "/exit" (or end of input) quits.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/generation_options.h"
#include "generate/generator.h"
#include "base/mapped_file.h"
#include "model/model_chat_template.h"
#include "text/tool_call_grammar.h"

namespace officina::cli {

namespace {
struct ChatArgs {
  std::string model, system, template_file, template_name, tools_file, tool_choice = "auto";
  std::vector<std::string> lora;
  int64_t n = 512;
  int64_t ctx = 0;
  int threads = 0;
  bool show_prompt = false;
  bool no_prefix_reuse = false;
  SamplingParams sampling;
};

void run_chat(const ChatArgs& a) {
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  const Tokenizer& tok = model.tokenizer();
  auto tmpl = model_chat_template(model, a.template_name, a.template_file);
  if (!tmpl) return report(tmpl.error());
  ChatRenderOptions options = chat_render_options(model);
  options.add_generation_prompt = true;
  const int64_t ctx = a.ctx > 0 ? a.ctx : std::min<int64_t>(model.config().context_length, 4096);
  auto cache = KvCache::create(model.config(), 1, ctx, default_kv_precision(model));
  if (!cache) return report(cache.error());
  auto adapter = load_lora_options(a.lora, model.config());
  if (!adapter) return report(adapter.error());
  ThreadPool pool(a.threads);
  Transformer transformer(model, pool);
  GenerateOptions gen;
  use_adapter(*adapter, transformer, gen);
  gen.max_tokens = a.n;
  gen.sampling = a.sampling;

  // Tools: rendered through the template; replies are read for tool calls in
  // the template's format; "required" or a tool name holds the reply to a call
  // with schema-valid arguments.
  nlohmann::ordered_json tools;
  const ToolCallFormat format = detect_tool_call_format(tmpl->tmpl.source());
  std::optional<Grammar> tool_grammar;
  if (!a.tools_file.empty()) {
    auto text = read_text_file(a.tools_file, 16u << 20);
    if (!text) return report(text.error());
    tools = nlohmann::ordered_json::parse(*text, nullptr, false);
    if (tools.is_discarded() || !tools.is_array())
      return report(Error{fmt::format("--tools {}: expected a JSON array of tool definitions", a.tools_file)});
    if (a.tool_choice != "auto" && a.tool_choice != "none") {
      auto gbnf = tool_call_gbnf(format, tools, a.tool_choice == "required" ? "" : a.tool_choice);
      if (!gbnf) return report(gbnf.error());
      auto grammar = Grammar::parse(*gbnf, "tool-call grammar");
      if (!grammar) return report(grammar.error());
      tool_grammar = std::move(*grammar);
      gen.grammar = &*tool_grammar;
    }
  } else if (a.tool_choice != "auto") {
    return report(Error{"--tool-choice needs --tools FILE.json"});
  }

  const bool interactive = isatty(STDIN_FILENO);
  if (interactive)
    std::fprintf(stderr, "officina chat · %s · template: %s · /reset clears, /exit quits\n", model.name().c_str(),
                 tmpl->origin.c_str());
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  // What the cache slot holds: the last prompt and reply. A new turn's prompt
  // starts with most of it, so only the new part is prefilled.
  std::vector<int32_t> cached;
  auto reset = [&] {
    history = nlohmann::ordered_json::array();
    if (!a.system.empty()) history.push_back({{"role", "system"}, {"content", a.system}});
  };
  reset();
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs("\n> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      reset();
      continue;
    }
    if (line.empty()) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    auto prompt_text = tmpl->tmpl.render(history, a.tool_choice == "none" ? nlohmann::ordered_json() : tools, options);
    if (!prompt_text) return report(prompt_text.error());
    if (a.show_prompt) std::fprintf(stderr, "[prompt]\n%s\n[/prompt]\n", prompt_text->c_str());
    std::vector<int32_t> prompt = tok.encode(*prompt_text, false, /*parse_special=*/true);
    if (tok.add_bos_default() && tok.bos_id() >= 0 && (prompt.empty() || prompt[0] != tok.bos_id()))
      prompt.insert(prompt.begin(), tok.bos_id());
    if (static_cast<int64_t>(prompt.size()) + 1 >= ctx)
      return report(Error{fmt::format("chat: the conversation has {} tokens and fills the context of {}; /reset "
                                      "or raise --ctx", prompt.size(), ctx)});
    gen.max_tokens = std::min<int64_t>(a.n, ctx - static_cast<int64_t>(prompt.size()) - 1);
    size_t common = 0;
    while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
    gen.reuse_prefix = a.no_prefix_reuse ? 0 : static_cast<int64_t>(common);
    auto result = generate(transformer, *cache, 0, prompt, gen, [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!result) return report(result.error());
    if (result->finish == FinishReason::Length && gen.max_tokens < a.n)
      std::fprintf(stderr, "note: the reply was cut at %lld tokens because the context of %lld is full (raise --ctx)\n",
                   static_cast<long long>(gen.max_tokens), static_cast<long long>(ctx));
    AssistantReply reply;
    if (!tools.is_null() && a.tool_choice != "none") reply = parse_tool_calls(result->text, format);
    if (reply.tool_calls.empty()) {
      history.push_back({{"role", "assistant"}, {"content", result->text}});
    } else {
      nlohmann::ordered_json calls = nlohmann::ordered_json::array();
      for (const auto& call : reply.tool_calls) {
        std::printf("[tool call] %s %s\n", call.name.c_str(), call.arguments.c_str());
        calls.push_back({{"id", call.id},
                         {"type", "function"},
                         {"function", {{"name", call.name}, {"arguments", nlohmann::ordered_json::parse(call.arguments)}}}});
      }
      std::fflush(stdout);
      history.push_back({{"role", "assistant"}, {"content", reply.content}, {"tool_calls", calls}});
    }
    cached = prompt;
    cached.insert(cached.end(), result->tokens.begin(), result->tokens.end());
    if (a.show_prompt)
      std::fprintf(stderr, "[reused %lld of %lld prompt tokens]\n", static_cast<long long>(result->reused_tokens),
                   static_cast<long long>(result->prompt_tokens));
  }
}
}  // namespace

void add_chat_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Talk with a model on the terminal (its chat template, streaming, with history)");
  auto a = std::make_shared<ChatArgs>();
  SamplingParams& s = a->sampling;
  cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("--system", a->system, "a system message that opens the conversation");
  cmd->add_option("--chat-template", a->template_file, "a Jinja template file instead of the model's");
  cmd->add_option("--template-name", a->template_name, "a named template of the model (e.g. tool_use)");
  cmd->add_option("--tools", a->tools_file, "OpenAI tool definitions (JSON array) offered to the model");
  cmd->add_option("--tool-choice", a->tool_choice, "auto, none, required, or a tool name (a call held to its schema)")
      ->capture_default_str();
  cmd->add_option("--lora", a->lora, "apply a LoRA adapter: PEFT dir or GGUF, PATH[:SCALE] (repeatable)");
  cmd->add_option("-n,--n-predict", a->n, "most tokens per reply")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  add_sampling_options(cmd, s);
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx", a->ctx, "context size (default: the model's, at most 4096)");
  cmd->add_flag("--show-prompt", a->show_prompt, "print each rendered prompt to stderr");
  cmd->add_flag("--no-prefix-reuse", a->no_prefix_reuse, "prefill every turn's whole prompt (no KV-cache reuse)");
  cmd->callback([a] { run_chat(*a); });
}

}  // namespace officina::cli
