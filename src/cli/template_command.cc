// officina template render (-m MODEL | --template FILE) --messages FILE.json
//     [--tools FILE.json] [--add-generation-prompt] [--bos-token S]
//     [--eos-token S] [--date "24 Nov 2026"] [--name NAME] [--vars FILE.json]
// officina template show -m MODEL [--name NAME]
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/model_chat_template.h"

namespace officina::cli {

namespace {
struct TemplateArgs {
  std::string model, template_file, messages_file, tools_file, vars_file, name, date;
  std::optional<std::string> bos, eos;
  bool add_generation_prompt = false;
};

Result<nlohmann::ordered_json> read_json(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{} '{}': cannot open", what, path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > (64u << 20)) return fail("{} '{}': larger than 64 MiB", what, path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail("{} '{}': invalid JSON at byte {}: {}", what, path, e.byte, e.what());
  }
}

void run_render(const TemplateArgs& a) {
  std::unique_ptr<Model> model;
  std::optional<ChatTemplate> tmpl;
  ChatRenderOptions options;
  if (!a.model.empty()) {
    auto m = Model::load(a.model);
    if (!m) return report(m.error());
    model = std::move(*m);
    auto t = model_chat_template(*model, a.name, a.template_file);
    if (!t) return report(t.error());
    tmpl = std::move(t->tmpl);
    options = chat_render_options(*model);
  } else {
    auto t = load_chat_template_file(a.template_file);
    if (!t) return report(t.error());
    tmpl = std::move(*t);
  }
  auto messages = read_json(a.messages_file, "--messages");
  if (!messages) return report(messages.error());
  nlohmann::ordered_json tools;
  // A messages file may also be {"messages": [...], "tools": [...]} (an OpenAI request body).
  if (messages->is_object()) {
    if (messages->contains("tools")) tools = (*messages)["tools"];
    if (!messages->contains("messages")) return report(Error{"--messages: expected an array or an object with \"messages\""});
    nlohmann::ordered_json inner = (*messages)["messages"];
    *messages = std::move(inner);
  }
  if (!a.tools_file.empty()) {
    auto t = read_json(a.tools_file, "--tools");
    if (!t) return report(t.error());
    tools = std::move(*t);
  }
  if (!a.vars_file.empty()) {
    auto v = read_json(a.vars_file, "--vars");
    if (!v) return report(v.error());
    if (!v->is_object()) return report(Error{"--vars: expected a JSON object of template variables"});
    options.extra = std::move(*v);
  }
  if (a.bos) options.bos_token = *a.bos;
  if (a.eos) options.eos_token = *a.eos;
  options.add_generation_prompt = a.add_generation_prompt;
  if (!a.date.empty()) {
    auto d = parse_template_date(a.date);
    if (!d) return report(d.error());
    options.now = *d;
  }
  auto text = tmpl->render(*messages, tools, options);
  if (!text) return report(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::fflush(stdout);
}

void run_show(const TemplateArgs& a) {
  auto m = Model::load(a.model);
  if (!m) return report(m.error());
  auto t = model_chat_template(**m, a.name, a.template_file);
  if (!t) return report(t.error());
  std::fprintf(stderr, "chat template: %s\n", t->origin.c_str());
  std::fwrite(t->tmpl.source().data(), 1, t->tmpl.source().size(), stdout);
}
}  // namespace

void add_template_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("template", "Render conversations with a model's chat template");
  cmd->require_subcommand(1);
  auto a = std::make_shared<TemplateArgs>();

  auto* render = cmd->add_subcommand("render", "Print the prompt a chat template makes of a conversation (exactly, no newline added)");
  auto* m = render->add_option("-m,--model", a->model, "take the template (and BOS/EOS) from this model");
  render->add_option("--template,--chat-template", a->template_file, "a Jinja template file (overrides the model's)");
  render->add_option("--messages", a->messages_file, "JSON array of messages, or {\"messages\": [...], \"tools\": [...]}")->required();
  render->add_option("--tools", a->tools_file, "JSON array of OpenAI tool definitions");
  render->add_option("--vars", a->vars_file, "JSON object of extra template variables");
  render->add_option("--name", a->name, "a named template of the model (e.g. tool_use)");
  render->add_flag("--add-generation-prompt", a->add_generation_prompt, "end with the assistant's turn header");
  render->add_option("--bos-token", a->bos, "bos_token text (default: the model's, else <s>)");
  render->add_option("--eos-token", a->eos, "eos_token text (default: the model's, else </s>)");
  render->add_option("--date", a->date, "the date strftime_now() sees, e.g. \"24 Nov 2026\"");
  (void)m;
  render->callback([a] {
    if (a->model.empty() && a->template_file.empty()) return report(Error{"template render: give -m MODEL or --template FILE"});
    run_render(*a);
  });

  auto* show = cmd->add_subcommand("show", "Print a model's chat template and say where it came from");
  show->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  show->add_option("--name", a->name, "a named template (e.g. tool_use)");
  show->add_option("--template,--chat-template", a->template_file, "a Jinja template file (overrides the model's)");
  show->callback([a] { run_show(*a); });
}

}  // namespace officina::cli
