// Fuzzes the plant YAML reader and validator: any input must give a Plant or
// an Error, never a crash, hang or sanitizer report. A plant that validates
// is also simulated for a short horizon, which exercises the engine on odd
// but valid plants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "twin/plant_parser.h"
#include "twin/simulator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto plant = officina::twin::parse_plant(text, "fuzz.yaml");
  if (!plant) return 0;
  officina::twin::SimulationOptions options;
  options.horizon = 600;  // short: the budget is for the parser
  options.seed = 1;
  (void)officina::twin::simulate(*plant, options);
  return 0;
}
