// `officina twin ...`: the plant digital twin from the command line.
//   twin validate PLANT.yaml
//   twin simulate PLANT.yaml [--horizon 30d] [--replications N] [--seed S]
//                 [--scenario FILE] [--from-store DB] [--threads T] [--warmup 1d] [--json OUT]
//   twin plan PLANT.yaml [--horizon 14d] [--replications N] [--seed S] [--json OUT]  (twin_plan_command.cc)
//   twin export-runs PLANT.yaml --out DIR [--horizon 180d] [--replications N] [--seed S]
//   twin live PLANT.yaml --broker mqtt://127.0.0.1:1883 [--speed 60] [--duration 1h] [--seed S] [--client-id ID]
//   twin ingest --broker mqtt://127.0.0.1:1883 --store DIR/telemetry.db [--plant NAME] [--retention 30d]
//   twin telemetry --store DB latest|history|states|health|counters [...]  (twin_telemetry_command.cc)
// Thin: parsing arguments, calling src/twin, printing.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/atomic_file.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "cli/pdm_rul_estimator.h"
#include "twin/duration.h"
#include "twin/kpi_report.h"
#include "twin/plant_parser.h"
#include "twin/plant_validator.h"
#include "twin/random_streams.h"
#include "twin/replication_runner.h"
#include "twin/run_export.h"
#include "twin/scenario.h"
#include "twin/store_state.h"
#include "twin/store_state_report.h"
#include "twin/live_runner.h"
#include "twin/telemetry_ingester.h"
#include "twin/telemetry_publisher.h"
#include "twin/telemetry_report.h"
#include "twin/telemetry_topic.h"

namespace officina::cli {

namespace {

struct TwinArgs {
  std::string plant;
  std::string horizon;
  std::string warmup = "0";
  std::string scenario;
  std::string json;
  std::string out;
  int replications = 10;
  int export_replications = 1;
  uint64_t seed = 1;
  int threads = 0;
  // live, ingest, telemetry
  std::string broker = "mqtt://127.0.0.1:1883";
  std::string client_id;
  std::string duration = "1h";
  std::string ingest_duration;
  std::string flush_timeout = "30s";
  double speed = 60;
  size_t buffer = 100000;
  std::string store;
  std::string plant_name;
  std::string retention;
  std::string from_store;
  bool json_out = false;
};

// Ctrl-C (or SIGTERM) asks live and ingest to stop cleanly; a second one
// abandons the wait for the broker to take the buffered messages.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_abort{false};
std::atomic<int> g_signals{0};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
  if (g_signals.fetch_add(1) >= 1) g_abort.store(true);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int report(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  return 1;
}

Result<double> horizon_of(const TwinArgs& a, const twin::Plant& plant) {
  if (a.horizon.empty()) return plant.horizon;
  auto h = twin::parse_duration(a.horizon);
  if (!h) return fail("--horizon: {}", h.error().message);
  OFFICINA_CHECK(twin::validate_horizon(*h, "--horizon"));
  return *h;
}

int run_validate(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  size_t machines = 0, sensors = 0;
  for (const auto& line : plant->lines) {
    machines += line.machines.size();
    for (const auto& m : line.machines) sensors += m.sensors.size();
  }
  std::printf("%s: valid — plant '%s', %zu line(s), %zu machine(s), %zu sensor(s), %zu product(s)\n", a.plant.c_str(),
              plant->name.c_str(), plant->lines.size(), machines, sensors, plant->products.size());
  return 0;
}

void progress(const char* what, int done, int total) {
  if (!isatty(fileno(stderr)) && done != total) return;
  std::fprintf(stderr, "\r%s: %d/%d replications%s", what, done, total, done == total ? "\n" : "");
  std::fflush(stderr);
}

int run_simulate(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  auto horizon = horizon_of(a, *plant);
  if (!horizon) return report(horizon.error());
  auto warmup = twin::parse_duration(a.warmup);
  if (!warmup) return report(Error{"--warmup: " + warmup.error().message});
  // The state read from the store becomes every wear state's `initial`, so
  // the scenario (a copy of the plant) starts from it too.
  std::optional<twin::PlantStoreState> from_store;
  if (!a.from_store.empty()) {
    auto state = twin::read_store_state(*plant, a.from_store);
    if (!state) return report(state.error());
    twin::apply_store_state(*plant, *state);
    std::fputs(twin::store_state_table(*state).c_str(), stdout);
    std::fputs("\n", stdout);
    from_store = std::move(*state);
  }
  std::unique_ptr<twin::Scenario> scenario;
  if (!a.scenario.empty()) {
    auto s = twin::load_scenario(*plant, a.scenario);
    if (!s) return report(s.error());
    scenario = std::make_unique<twin::Scenario>(std::move(*s));
  }
  auto estimator = PdmRulEstimator::load(*plant);
  if (!estimator) return report(estimator.error());
  std::unique_ptr<PdmRulEstimator> scenario_estimator;
  if (scenario) {
    auto e = PdmRulEstimator::load(scenario->plant);
    if (!e) return report(Error{"scenario: " + e.error().message});
    scenario_estimator = std::move(*e);
  }
  ThreadPool pool(a.threads);
  twin::ReplicationOptions o;
  o.simulation.estimator = estimator->get();
  o.simulation.horizon = *horizon;
  o.simulation.warmup = *warmup;
  o.simulation.seed = a.seed;
  o.replications = a.replications;
  o.progress = [](int done, int total) { progress("baseline", done, total); };
  auto base = twin::run_replications(*plant, o, pool);
  if (!base) return report(base.error());
  std::string title = fmt::format("{} — {} over {}", plant->name, "baseline", twin::format_duration(*horizon));
  std::fputs(twin::kpi_table(base->summary, title).c_str(), stdout);

  Json json = {{"plant", plant->name}, {"horizon_s", *horizon}, {"warmup_s", *warmup}, {"seed", a.seed},
               {"replications", a.replications}, {"threads", pool.size()},
               {"events_per_second", base->summary.events_per_second},
               {"replications_per_second", a.replications / std::max(base->elapsed_seconds, 1e-9)},
               {"baseline", twin::summary_json(base->summary)}};
  if (from_store) json["from_store"] = twin::store_state_json(*from_store);
  if (scenario) {
    o.progress = [](int done, int total) { progress("scenario", done, total); };
    o.simulation.estimator = scenario_estimator.get();
    auto alt = twin::run_replications(scenario->plant, o, pool);
    if (!alt) return report(alt.error());
    twin::RunSummary diff = twin::summarize_difference(alt->runs, base->runs);
    std::fputs("\n", stdout);
    std::fputs(twin::kpi_table(alt->summary, "scenario " + scenario->name).c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(twin::kpi_table(diff, "difference scenario - baseline (paired by seed)").c_str(), stdout);
    json["scenario"] = twin::summary_json(alt->summary);
    json["scenario"]["name"] = scenario->name;
    json["scenario"]["description"] = scenario->description;
    json["difference"] = twin::summary_json(diff);
  }
  if (!a.json.empty()) {
    std::string text = json.dump(2) + "\n";
    auto file = AtomicFile::create(a.json);
    if (!file) return report(file.error());
    if (auto w = file->write(text.data(), text.size()); !w) return report(w.error());
    if (auto c = file->commit(); !c) return report(c.error());
  }
  return 0;
}

int run_export(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  auto horizon = horizon_of(a, *plant);
  if (!horizon) return report(horizon.error());
  const int n = a.export_replications;
  if (n < 1 || n > 1000) return report(Error{"--replications: must be between 1 and 1000"});
  auto estimator = PdmRulEstimator::load(*plant);
  if (!estimator) return report(estimator.error());
  std::vector<twin::SimulationResult> results;
  for (int r = 0; r < n; ++r) {
    twin::SimulationOptions o;
    o.estimator = estimator->get();
    o.horizon = *horizon;
    o.seed = twin::replication_seed(a.seed, r);
    o.record_sensors = true;
    auto run = twin::simulate(*plant, o);
    if (!run) return report(run.error());
    results.push_back(std::move(*run));
    progress("export", r + 1, n);
  }
  auto summary = twin::export_runs(*plant, results, a.out);
  if (!summary) return report(summary.error());
  std::printf("%zu runs to failure (%llu censored by maintenance) written to %s (%zu files)\n", summary->runs,
              static_cast<unsigned long long>(summary->censored), a.out.c_str(), summary->files.size());
  return 0;
}

Result<double> duration_option(const std::string& text, std::string_view name) {
  auto d = twin::parse_duration(text);
  if (!d) return fail("{}: {}", name, d.error().message);
  return *d;
}

int run_live(const TwinArgs& a) {
  auto plant = twin::load_plant(a.plant);
  if (!plant) return report(plant.error());
  auto duration = duration_option(a.duration, "--duration");
  if (!duration) return report(duration.error());
  auto flush_timeout = duration_option(a.flush_timeout, "--flush-timeout");
  if (!flush_timeout) return report(flush_timeout.error());
  auto broker = twin::parse_broker_url(a.broker);
  if (!broker) return report(broker.error());
  if (a.buffer < 1) return report(Error{"--buffer: must be at least 1 message"});
  auto estimator = PdmRulEstimator::load(*plant);
  if (!estimator) return report(estimator.error());

  twin::PublisherOptions po;
  po.mqtt.broker = *broker;
  po.mqtt.client_id = a.client_id.empty()
      ? fmt::format("officina-live-{}-{}", twin::sanitize_topic_level(plant->name), getpid()) : a.client_id;
  po.max_buffered = a.buffer;
  twin::TelemetryPublisher publisher(po);
  install_stop_handlers();
  publisher.start();

  const bool tty = isatty(fileno(stderr));
  twin::LiveOptions lo;
  lo.duration = *duration;
  lo.speed = a.speed;
  lo.seed = a.seed;
  lo.estimator = estimator->get();
  lo.stop = &g_stop;
  lo.progress = [&](double t, uint64_t readings, uint64_t states) {
    if (!tty) return;
    twin::PublisherStats s = publisher.stats();
    std::fprintf(stderr, "\rlive: %s of %s simulated, %llu readings, %llu states, %zu buffered, %s   ",
                 twin::format_duration(t).c_str(), twin::format_duration(*duration).c_str(),
                 static_cast<unsigned long long>(readings), static_cast<unsigned long long>(states), s.buffered,
                 s.connected ? "connected" : "DISCONNECTED");
    std::fflush(stderr);
  };
  std::fprintf(stderr, "live: '%s' at %gx to %s:%d as '%s' (Ctrl-C stops)\n", plant->name.c_str(), a.speed,
               broker->host.c_str(), broker->port, po.mqtt.client_id.c_str());
  auto result = twin::run_live(*plant, lo, publisher);
  if (tty) std::fputs("\n", stderr);
  if (!result) {
    publisher.stop();
    return report(result.error());
  }
  if (size_t waiting = publisher.stats().buffered; waiting > 0) {
    std::fprintf(stderr, "live: waiting up to %s for the broker to take %zu buffered message(s) (Ctrl-C again abandons them)\n",
                 a.flush_timeout.c_str(), waiting);
  }
  bool flushed = publisher.flush(*flush_timeout, &g_abort);
  publisher.stop();
  twin::PublisherStats s = publisher.stats();
  std::printf("live: %s simulated in %.1f s%s: %llu readings, %llu state changes; %llu messages acknowledged, "
              "%llu resent after reconnects, %llu dropped (buffer full), %zu undelivered, %llu connection(s)\n",
              twin::format_duration(result->simulated_s).c_str(), result->wall_s, result->stopped ? " (stopped)" : "",
              static_cast<unsigned long long>(result->readings), static_cast<unsigned long long>(result->states),
              static_cast<unsigned long long>(s.acknowledged), static_cast<unsigned long long>(s.resent),
              static_cast<unsigned long long>(s.dropped), s.buffered, static_cast<unsigned long long>(s.connections));
  if (!flushed || s.dropped > 0) {
    return report(Error{fmt::format("{} message(s) were not delivered to {}:{} ({} dropped because the buffer of {} was full)",
                                    s.buffered + s.dropped, broker->host, broker->port, s.dropped, a.buffer)});
  }
  return 0;
}

int run_ingest(const TwinArgs& a) {
  auto broker = twin::parse_broker_url(a.broker);
  if (!broker) return report(broker.error());
  twin::IngestOptions io;
  io.mqtt.broker = *broker;
  io.mqtt.client_id = a.client_id;
  io.mqtt.clean_session = false;
  io.plant = a.plant_name;
  if (!a.retention.empty()) {
    auto r = duration_option(a.retention, "--retention");
    if (!r) return report(r.error());
    io.retention_s = *r;
  }
  double stop_after = 0;
  if (!a.ingest_duration.empty()) {
    auto d = duration_option(a.ingest_duration, "--duration");
    if (!d) return report(d.error());
    stop_after = *d;
  }
  std::filesystem::path parent = std::filesystem::path(a.store).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return report(Error{fmt::format("{}: cannot create the directory: {}", parent.string(), ec.message())});
  auto ingester = twin::TelemetryIngester::open(a.store, io);
  if (!ingester) return report(ingester.error());
  install_stop_handlers();
  (*ingester)->start();
  std::fprintf(stderr, "ingest: %s:%d -> %s as '%s'%s (Ctrl-C stops)\n", broker->host.c_str(), broker->port,
               a.store.c_str(), (*ingester)->options().mqtt.client_id.c_str(),
               io.retention_s > 0 ? fmt::format(", keeping {}", twin::format_duration(io.retention_s)).c_str() : "");
  const bool tty = isatty(fileno(stderr));
  auto started = std::chrono::steady_clock::now();
  auto next_progress = started;
  while (!g_stop.load()) {
    auto now = std::chrono::steady_clock::now();
    if (stop_after > 0 && std::chrono::duration<double>(now - started).count() >= stop_after) break;
    if (tty && now >= next_progress) {
      twin::IngestCounters c = (*ingester)->counters();
      std::fprintf(stderr, "\ringest: %llu received, %llu stored, %llu duplicate, %llu rejected, %s   ",
                   static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.accepted),
                   static_cast<unsigned long long>(c.duplicate), static_cast<unsigned long long>(c.rejected_total()),
                   (*ingester)->connected() ? "connected" : "DISCONNECTED");
      std::fflush(stderr);
      next_progress = now + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*ingester)->stop();
  if (tty) std::fputs("\n", stderr);
  twin::IngestCounters c = (*ingester)->counters();
  if (a.json_out) std::printf("%s\n", twin::ingest_counters_json(c).dump(2).c_str());
  else std::fputs(twin::ingest_counters_table(c).c_str(), stdout);
  return 0;
}

void add_live_commands(CLI::App* twin, const std::shared_ptr<TwinArgs>& args) {
  CLI::App* live = twin->add_subcommand("live", "Run the plant in (accelerated) real time and publish its telemetry over MQTT");
  live->add_option("plant", args->plant, "plant description (YAML)")->required();
  live->add_option("--broker", args->broker, "MQTT broker, mqtt://HOST:PORT")->capture_default_str();
  live->add_option("--speed", args->speed, "simulated seconds per wall second (0 = as fast as possible)")->capture_default_str();
  live->add_option("--duration", args->duration, "simulated time to run: 1h, 8h, 7d")->capture_default_str();
  live->add_option("--seed", args->seed, "random seed")->capture_default_str();
  live->add_option("--client-id", args->client_id, "MQTT client id (default officina-live-PLANT-PID)");
  live->add_option("--buffer", args->buffer, "messages held while the broker is unreachable")->capture_default_str();
  live->add_option("--flush-timeout", args->flush_timeout, "at the end, how long to wait for the broker to take the buffer")->capture_default_str();
  live->callback([args] { exit_code() = run_live(*args); });

  CLI::App* ingest = twin->add_subcommand("ingest", "Store MQTT telemetry (officina/#) in a SQLite time-series store");
  ingest->add_option("--broker", args->broker, "MQTT broker, mqtt://HOST:PORT")->capture_default_str();
  ingest->add_option("--store", args->store, "the store, e.g. data/telemetry.db (created if missing)")->required();
  ingest->add_option("--plant", args->plant_name, "only this plant's topics");
  ingest->add_option("--retention", args->retention, "delete readings older than this (30d); default: keep all");
  ingest->add_option("--client-id", args->client_id, "fixed MQTT client id of the persistent session (default officina-ingest[-PLANT])");
  ingest->add_option("--duration", args->ingest_duration, "stop after this much wall-clock time (default: until Ctrl-C)");
  ingest->add_flag("--json", args->json_out, "print the counters as JSON on exit");
  ingest->callback([args] { exit_code() = run_ingest(*args); });

}

}  // namespace

void add_twin_command(CLI::App& app) {
  auto args = std::make_shared<TwinArgs>();
  CLI::App* twin = app.add_subcommand("twin", "Digital twin of a plant: validate, simulate, what-if, run-to-failure data");
  twin->require_subcommand(1);

  CLI::App* validate = twin->add_subcommand("validate", "Check a plant YAML file and report every problem with its path");
  validate->add_option("plant", args->plant, "plant description (YAML)")->required();
  validate->callback([args] { exit_code() = run_validate(*args); });

  CLI::App* simulate = twin->add_subcommand("simulate", "Run replications and print KPIs with 95% confidence intervals");
  simulate->add_option("plant", args->plant, "plant description (YAML)")->required();
  simulate->add_option("--horizon", args->horizon, "simulated time: 30d, 12h, 90m or seconds (default: the plant's)");
  simulate->add_option("--warmup", args->warmup, "time discarded before KPIs count")->capture_default_str();
  simulate->add_option("--replications,-n", args->replications, "independent replications")->capture_default_str();
  simulate->add_option("--seed", args->seed, "base seed")->capture_default_str();
  simulate->add_option("--scenario", args->scenario, "what-if overrides (YAML); also prints the paired difference");
  simulate->add_option("--from-store", args->from_store, "start from the wear states read from this telemetry store (`twin ingest`)");
  simulate->add_option("--threads", args->threads, "worker threads (0 = all cores)")->capture_default_str();
  simulate->add_option("--json", args->json, "write KPIs as JSON to this file");
  simulate->callback([args] { exit_code() = run_simulate(*args); });

  CLI::App* exp = twin->add_subcommand("export-runs", "Write sensor histories up to each failure (C-MAPSS text and CSV)");
  exp->add_option("plant", args->plant, "plant description (YAML)")->required();
  exp->add_option("--out", args->out, "output directory")->required();
  exp->add_option("--horizon", args->horizon, "simulated time per replication (default: the plant's)");
  exp->add_option("--replications,-n", args->export_replications, "independent runs to concatenate")->capture_default_str();
  exp->add_option("--seed", args->seed, "base seed")->capture_default_str();
  exp->callback([args] { exit_code() = run_export(*args); });

  add_twin_plan_command(*twin);
  add_live_commands(twin, args);
  add_twin_telemetry_command(*twin);
}

}  // namespace officina::cli
