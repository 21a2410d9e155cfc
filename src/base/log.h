// Logging goes to stderr through spdlog so stdout stays for results
// (JSON, generated text). Levels: error, warn, info (default), debug.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace officina {

// Sets up the stderr logger; level is one of trace/debug/info/warn/error/off.
void init_logging(std::string_view level = "info");

}  // namespace officina
