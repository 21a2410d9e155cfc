// Benchmark of the twin's simulator (plain main, not a test). Per plant (the
// demo and a generated 100-machine line): events per second on one thread, by
// wall clock and by the thread's CPU time (the CPU figure is the one to
// compare on a loaded machine: it leaves out time spent descheduled), and
// replications per second on 1 and 2 threads. Prints the machine (CPU model,
// nproc, load average before and after) and a table, and writes JSON to
// argv[1] (default twin-bench.json).
//   twin_bench [OUT.json] [--plant PLANT.yaml] [--quick]
// --quick runs a tenth of the replications (a smoke test, not a measurement).
#include "bench_machine.h"
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "twin/plant_parser.h"
#include "twin/random_streams.h"
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

struct MachineInfo {
  std::string cpu_model = "unknown";
  long nproc = 0;
  std::string load_before, load_after;  // /proc/loadavg: 1, 5 and 15 minute averages
};

using officina::bench::cpu_model;
using officina::bench::load_average;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Row {
  std::string plant;
  double horizon_days = 0;
  int replications = 0;
  double events_per_replication = 0;
  double events_per_second_wall = 0;  // one thread
  double events_per_second_cpu = 0;   // one thread, by its CPU time
  double reps_per_second_1 = 0;
  double reps_per_second_2 = 0;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

Row measure(const std::string& name, const twin::Plant& plant, double horizon, int replications) {
  Row row;
  row.plant = name;
  row.horizon_days = horizon / 86400;
  row.replications = replications;

  // Events per second: replications one after another on this thread.
  uint64_t events = 0;
  double wall = 0, cpu = 0;
  for (int r = 0; r < replications; ++r) {
    twin::SimulationOptions o;
    o.horizon = horizon;
    o.seed = twin::replication_seed(1, static_cast<uint64_t>(r));
    const double w0 = wall_seconds(), c0 = thread_cpu_seconds();
    auto run = twin::simulate(plant, o);
    cpu += thread_cpu_seconds() - c0;
    wall += wall_seconds() - w0;
    if (!run) die(run.error().message);
    events += run->kpis.events;
  }
  row.events_per_replication = static_cast<double>(events) / replications;
  row.events_per_second_wall = wall > 0 ? events / wall : 0;
  row.events_per_second_cpu = cpu > 0 ? events / cpu : 0;

  // Replications per second through the runner, as `twin simulate` runs them.
  twin::ReplicationOptions o;
  o.simulation.horizon = horizon;
  o.simulation.seed = 1;
  o.replications = replications;
  for (int threads : {1, 2}) {
    officina::ThreadPool pool(threads);
    auto set = twin::run_replications(plant, o, pool);
    if (!set) die(set.error().message);
    (threads == 1 ? row.reps_per_second_1 : row.reps_per_second_2) = replications / std::max(set->elapsed_seconds, 1e-9);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "twin-bench.json";
  std::string demo_path = "examples/plants/demo-packaging-line.yaml";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--plant" && i + 1 < argc) {
      demo_path = argv[++i];
    } else if (a == "--quick") {
      quick = true;
    } else {
      out = a;
    }
  }
  auto demo = twin::load_plant(demo_path);
  if (!demo) die(demo.error().message + " (run from the source root or pass --plant)");
  auto line = twin::parse_plant(generated_line(100), "generated");
  if (!line) die(line.error().message);

  MachineInfo machine;
  machine.cpu_model = cpu_model();
  machine.nproc = sysconf(_SC_NPROCESSORS_ONLN);
  machine.load_before = load_average();
  const int scale = quick ? 10 : 1;
  std::vector<Row> rows = {measure("demo-packaging-line", *demo, 90 * 86400.0, std::max(2, 32 / scale)),
                           measure("generated-100-machines", *line, 30 * 86400.0, std::max(2, 16 / scale))};
  machine.load_after = load_average();

  std::printf("machine: %s, nproc %ld, load average %s (before) / %s (after)\n", machine.cpu_model.c_str(), machine.nproc,
              machine.load_before.c_str(), machine.load_after.c_str());
  std::printf("%-24s %5s %5s %11s %13s %13s %9s %9s %8s\n", "plant", "days", "reps", "events/rep", "M ev/s wall", "M ev/s cpu",
              "reps/s 1T", "reps/s 2T", "2T/1T");
  Json json = {{"benchmark", "twin"},
               {"machine", {{"cpu_model", machine.cpu_model}, {"nproc", machine.nproc},
                            {"loadavg_before", machine.load_before}, {"loadavg_after", machine.load_after}}},
               {"rows", Json::array()}};
  for (const Row& r : rows) {
    std::printf("%-24s %5.0f %5d %11.0f %13.2f %13.2f %9.2f %9.2f %8.2f\n", r.plant.c_str(), r.horizon_days, r.replications,
                r.events_per_replication, r.events_per_second_wall / 1e6, r.events_per_second_cpu / 1e6, r.reps_per_second_1,
                r.reps_per_second_2, r.reps_per_second_2 / r.reps_per_second_1);
    json["rows"].push_back({{"plant", r.plant},
                            {"horizon_days", r.horizon_days},
                            {"replications", r.replications},
                            {"events_per_replication", r.events_per_replication},
                            {"events_per_second_1_thread", r.events_per_second_wall},
                            {"events_per_second_1_thread_cpu", r.events_per_second_cpu},
                            {"replications_per_second_1_thread", r.reps_per_second_1},
                            {"replications_per_second_2_threads", r.reps_per_second_2}});
  }
  std::string text = json.dump(2) + "\n";
  auto file = officina::AtomicFile::create(out);
  if (!file || !file->write(text.data(), text.size()) || !file->commit()) die("cannot write " + out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
