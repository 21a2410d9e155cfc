// officina: one binary, one subcommand per capability.
#include <cstdio>
#include <string>

#include "base/log.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"officina: a sovereign AI factory in one program (LLM engine, fine-tuning, serving, plant twin)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("officina 0.1.0"));
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->capture_default_str();

  officina::cli::add_info_command(app);
  officina::cli::add_tokenize_command(app);
  officina::cli::add_logits_command(app);
  officina::cli::add_generate_command(app);
  officina::cli::add_convert_command(app);
  officina::cli::add_quantize_command(app);
  officina::cli::add_model_command(app);
  officina::cli::add_template_command(app);
  officina::cli::add_chat_command(app);
  officina::cli::add_bench_command(app);
  officina::cli::add_finetune_command(app);
  officina::cli::add_serve_command(app);
  officina::cli::add_admin_command(app);
  officina::cli::add_twin_command(app);
  officina::cli::add_pdm_command(app);

  app.parse_complete_callback([&] { officina::init_logging(log_level); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return officina::cli::exit_code();
}

namespace officina::cli {
int& exit_code() {
  static int code = 0;
  return code;
}
}  // namespace officina::cli
