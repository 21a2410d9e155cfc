// Benchmark of the twin's simulator (plain main, not a test): events per
// second on one thread for the demo plant and a generated 100-machine line,
// and replications per second on 1 and 2 threads. Prints a table and writes
// JSON to argv[1] (default twin-bench.json).
//   twin_bench [OUT.json] [--plant PLANT.yaml]
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "twin/plant_parser.h"
#include "twin/replication_runner.h"

namespace {

using officina::Json;
namespace twin = officina::twin;

// A serial line of n machines with failures, wear and sensors on every third.
std::string generated_line(int n) {
  std::string yaml = "name: generated-100\ncrews: 6\nlines:\n  - name: long\n    buffer_capacity: 5\n    machines:\n";
  for (int i = 0; i < n; ++i) {
    yaml += fmt::format("      - name: m{}\n        cycle_time: {{dist: lognormal, mean: {}s, sd: 6s}}\n", i, 50 + (i * 7) % 11);
    yaml += fmt::format("        failure_modes: [{{name: f, mtbf: {}h, repair_time: {{dist: exponential, mean: 20m}}}}]\n", 40 + i % 17);
    if (i % 3 == 0) {
      yaml += "        degradation: [{name: w, rate_per_hour: 0.01, cv: 0.3}]\n";
      yaml += "        sensors: [{name: vib, period: 10m, noise_sd: 0.1, base: 1, gain: 4, degradation: w}]\n";
    }
  }
  return yaml;
}

struct Row {
  std::string plant;
  double horizon_days = 0;
  double events_per_second = 0;
  double events_per_replication = 0;
  double reps_per_second_1 = 0;
  double reps_per_second_2 = 0;
};

Row measure(const std::string& name, const twin::Plant& plant, double horizon, int replications) {
  Row row;
  row.plant = name;
  row.horizon_days = horizon / 86400;
  twin::ReplicationOptions o;
  o.simulation.horizon = horizon;
  o.simulation.seed = 1;
  o.replications = replications;
  for (int threads : {1, 2}) {
    officina::ThreadPool pool(threads);
    auto set = twin::run_replications(plant, o, pool);
    if (!set) {
      std::fprintf(stderr, "error: %s\n", set.error().message.c_str());
      std::exit(1);
    }
    double reps = replications / set->elapsed_seconds;
    if (threads == 1) {
      row.reps_per_second_1 = reps;
      row.events_per_second = set->summary.events_per_second;
      row.events_per_replication = static_cast<double>(set->summary.events) / replications;
    } else {
      row.reps_per_second_2 = reps;
    }
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "twin-bench.json";
  std::string demo_path = "examples/plants/demo-packaging-line.yaml";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--plant" && i + 1 < argc) demo_path = argv[++i];
    else out = a;
  }
  auto demo = twin::load_plant(demo_path);
  if (!demo) {
    std::fprintf(stderr, "error: %s (run from the source root or pass --plant)\n", demo.error().message.c_str());
    return 1;
  }
  auto line = twin::parse_plant(generated_line(100), "generated");
  if (!line) {
    std::fprintf(stderr, "error: %s\n", line.error().message.c_str());
    return 1;
  }
  std::vector<Row> rows = {measure("demo-packaging-line", *demo, 90 * 86400.0, 16),
                           measure("generated-100-machines", *line, 30 * 86400.0, 8)};
  std::printf("%-24s %8s %14s %16s %12s %12s %9s\n", "plant", "days", "events/rep", "M events/s (1T)", "reps/s 1T",
              "reps/s 2T", "speed-up");
  Json json = {{"benchmark", "twin"}, {"threads_available", officina::ThreadPool::default_threads()}, {"rows", Json::array()}};
  for (const Row& r : rows) {
    std::printf("%-24s %8.0f %14.0f %16.2f %12.2f %12.2f %9.2f\n", r.plant.c_str(), r.horizon_days, r.events_per_replication,
                r.events_per_second / 1e6, r.reps_per_second_1, r.reps_per_second_2, r.reps_per_second_2 / r.reps_per_second_1);
    json["rows"].push_back({{"plant", r.plant}, {"horizon_days", r.horizon_days}, {"events_per_replication", r.events_per_replication},
                            {"events_per_second_1_thread", r.events_per_second}, {"replications_per_second_1_thread", r.reps_per_second_1},
                            {"replications_per_second_2_threads", r.reps_per_second_2}});
  }
  std::string text = json.dump(2) + "\n";
  auto file = officina::AtomicFile::create(out);
  if (!file || !file->write(text.data(), text.size()) || !file->commit()) {
    std::fprintf(stderr, "error: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
