// Each subcommand lives in its own file and registers itself on the CLI11 app
// with add_<name>_command(app). The callback runs the command and sets the
// process exit code through CommandStatus.
#pragma once

#include <CLI/CLI.hpp>

namespace officina::cli {

// The exit code the chosen subcommand asks for (0 by default).
int& exit_code();

void add_info_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_model_command(CLI::App& app);
void add_twin_command(CLI::App& app);
// `twin plan`, registered by add_twin_command on its `twin` subcommand.
void add_twin_plan_command(CLI::App& twin);
// `twin telemetry`, registered the same way.
void add_twin_telemetry_command(CLI::App& twin);
void add_pdm_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_finetune_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_admin_command(CLI::App& app);

}  // namespace officina::cli
