// `officina twin telemetry --store DB [--plant P] [--line L] [--machine M] [--json] QUERY`:
// queries the time-series store that `twin ingest` fills.
//   latest                                  the newest reading of every sensor
//   history --machine M --sensor S [--since 1h | --from T] [--to T] [--step 5m | --max-points N]
//   states                                  the current status of every machine
//   health [--history] [--since 1d | --from T] [--to T]
//                                           the newest health estimate per machine (or all of them)
//   counters                                messages accepted, duplicate, rejected by reason
// Thin: parsing arguments, calling src/twin (timeseries_store.h, telemetry_report.h), printing.
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "twin/duration.h"
#include "twin/telemetry_report.h"
#include "twin/telemetry_topic.h"
#include "twin/timeseries_store.h"

namespace officina::cli {

namespace {

struct TelemetryArgs {
  std::string store;
  std::string plant_name, line, machine, sensor;
  std::string since, step;
  double from = 0, to = 0;
  size_t max_points = 0;
  bool health_history = false;
  bool json_out = false;
};

int report(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message.c_str());
  return 1;
}

Result<double> duration_option(const std::string& text, std::string_view name) {
  auto d = twin::parse_duration(text);
  if (!d) return fail("{}: {}", name, d.error().message);
  return *d;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

twin::TelemetryFilter filter_of(const TelemetryArgs& a) {
  // Stored names are topic levels: sanitize what the user typed the same way.
  auto level = [](const std::string& s) { return s.empty() ? s : twin::sanitize_topic_level(s); };
  return twin::TelemetryFilter{level(a.plant_name), level(a.line), level(a.machine)};
}

void print_json(const Json& json) {
  std::printf("%s\n", json.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
}

// The [from, to] range of --since / --from / --to (unbounded by default).
Result<std::pair<double, double>> range_of(const TelemetryArgs& a) {
  double from = -std::numeric_limits<double>::infinity(), to = std::numeric_limits<double>::infinity();
  if (!a.since.empty()) {
    if (a.from != 0) return fail("give --since or --from, not both");
    OFFICINA_TRY(double since, duration_option(a.since, "--since"));
    from = unix_now() - since;
  } else if (a.from != 0) {
    from = a.from;
  }
  if (a.to != 0) to = a.to;
  return std::pair{from, to};
}

int run_latest(const TelemetryArgs& a) {
  auto store = twin::TimeseriesStore::open_existing(a.store);
  if (!store) return report(store.error());
  auto rows = store->latest(filter_of(a));
  if (!rows) return report(rows.error());
  if (a.json_out) print_json(twin::latest_json(*rows));
  else std::fputs(twin::latest_table(*rows).c_str(), stdout);
  return 0;
}

int run_history(const TelemetryArgs& a) {
  twin::HistoryQuery q;
  q.where = filter_of(a);
  q.sensor = twin::sanitize_topic_level(a.sensor);
  auto range = range_of(a);
  if (!range) return report(Error{"history: " + range.error().message});
  q.from = range->first;
  q.to = range->second;
  if (!a.step.empty()) {
    auto step = duration_option(a.step, "--step");
    if (!step) return report(step.error());
    q.step = *step;
  }
  q.max_points = a.max_points;
  auto store = twin::TimeseriesStore::open_existing(a.store);
  if (!store) return report(store.error());
  auto series = store->history(q);
  if (!series) return report(series.error());
  if (a.json_out) print_json(twin::history_json(*series, q.where.machine, q.sensor));
  else std::fputs(twin::history_table(*series, q.where.machine, q.sensor).c_str(), stdout);
  return 0;
}

int run_states(const TelemetryArgs& a) {
  auto store = twin::TimeseriesStore::open_existing(a.store);
  if (!store) return report(store.error());
  auto rows = store->current_states(filter_of(a));
  if (!rows) return report(rows.error());
  if (a.json_out) print_json(twin::states_json(*rows));
  else std::fputs(twin::states_table(*rows).c_str(), stdout);
  return 0;
}

int run_health(const TelemetryArgs& a) {
  auto range = range_of(a);
  if (!range) return report(Error{"health: " + range.error().message});
  const bool history = a.health_history || !a.since.empty() || a.from != 0 || a.to != 0;
  auto store = twin::TimeseriesStore::open_existing(a.store);
  if (!store) return report(store.error());
  auto rows = history ? store->health_history(filter_of(a), range->first, range->second) : store->latest_health(filter_of(a));
  if (!rows) return report(rows.error());
  if (a.json_out) print_json(twin::health_json(*rows));
  else std::fputs(twin::health_table(*rows).c_str(), stdout);
  return 0;
}

int run_counters(const TelemetryArgs& a) {
  auto store = twin::TimeseriesStore::open_existing(a.store);
  if (!store) return report(store.error());
  auto counters = store->counters();
  if (!counters) return report(counters.error());
  if (a.json_out) print_json(Json(*counters));
  else std::fputs(twin::counters_table(*counters).c_str(), stdout);
  return 0;
}

void add_range_options(CLI::App* cmd, const std::shared_ptr<TelemetryArgs>& args) {
  cmd->add_option("--since", args->since, "from this long before now: 1h, 7d");
  cmd->add_option("--from", args->from, "from this unix time (seconds)");
  cmd->add_option("--to", args->to, "up to this unix time (seconds)");
}

}  // namespace

void add_twin_telemetry_command(CLI::App& twin) {
  auto args = std::make_shared<TelemetryArgs>();
  CLI::App* tel = twin.add_subcommand("telemetry", "Query the telemetry store: latest values, history, machine states, health, counters");
  tel->add_option("--store", args->store, "the store written by `twin ingest`")->required();
  tel->add_flag("--json", args->json_out, "print JSON instead of a table");
  tel->add_option("--plant", args->plant_name, "only this plant");
  tel->add_option("--line", args->line, "only this line");
  tel->add_option("--machine", args->machine, "only this machine");
  tel->fallthrough();
  tel->require_subcommand(1);
  CLI::App* latest = tel->add_subcommand("latest", "The newest reading of every sensor");
  latest->callback([args] { exit_code() = run_latest(*args); });
  CLI::App* history = tel->add_subcommand("history", "The readings of one sensor over a time range");
  history->add_option("--sensor", args->sensor, "sensor name")->required();
  add_range_options(history, args);
  history->add_option("--step", args->step, "downsample: mean/min/max per bucket of this width (5m)");
  history->add_option("--max-points", args->max_points, "downsample to at most this many points");
  history->callback([args] {
    if (args->machine.empty()) {
      exit_code() = report(Error{"history: --machine is required"});
      return;
    }
    exit_code() = run_history(*args);
  });
  CLI::App* states = tel->add_subcommand("states", "The current state of every machine");
  states->callback([args] { exit_code() = run_states(*args); });
  CLI::App* health = tel->add_subcommand("health", "The newest health estimate (RUL) of every machine under the predictive policy");
  health->add_flag("--history", args->health_history, "every estimate in the range, oldest first, instead of the newest");
  add_range_options(health, args);
  health->callback([args] { exit_code() = run_health(*args); });
  CLI::App* counters = tel->add_subcommand("counters", "Messages accepted, duplicate and rejected by reason, all time");
  counters->callback([args] { exit_code() = run_counters(*args); });
}

}  // namespace officina::cli
