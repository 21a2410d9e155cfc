// What every benchmark records about the machine it ran on, so numbers from
// a loaded or different machine are recognisable in the JSON.
#pragma once

#include <fstream>
#include <string>

namespace officina::bench {

// "AMD EPYC ..." from /proc/cpuinfo, or "unknown".
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

// The 1, 5 and 15 minute load averages from /proc/loadavg, or "unknown".
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return in ? one + " " + five + " " + fifteen : "unknown";
}

}  // namespace officina::bench
