#include "twin/failure_forecast.h"

#include <algorithm>
#include <cmath>

#include "twin/plant_validator.h"
#include "twin/random_streams.h"

namespace officina::twin {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Expected cost of the failures a path records, binned by planned time.
struct CostBins {
  double step;
  std::vector<double> bins;
  void add(double planned, double cost) {
    size_t k = static_cast<size_t>(planned / step);
    if (k < bins.size()) bins[k] += cost;
  }
};

// One machine's failure process over planned time [0, limit); returns the
// first failure time (infinity if none).
double simulate_path(const Machine& spec, const Plant& plant, double load, double limit, bool from_now, RandomStream& rng,
                     const std::vector<Sampler>& ttf, const Sampler& cycle, double mean_factor, CostBins& bins) {
  const size_t modes = spec.failure_modes.size();
  std::vector<double> clock(modes, kInf);
  for (size_t f = 0; f < modes; ++f) {
    if (spec.failure_modes[f].trigger == FailureTrigger::kTime) clock[f] = rng.sample(ttf[f]);
  }
  std::vector<double> wear(spec.degradations.size(), 0.0);
  for (size_t g = 0; g < wear.size() && from_now; ++g) wear[g] = spec.degradations[g].initial;
  bool wear_fails = false;
  for (const FailureMode& f : spec.failure_modes) wear_fails |= f.trigger == FailureTrigger::kDegradation;
  double first = kInf;
  auto record = [&](double t, size_t f) {
    first = std::min(first, t);
    bins.add(t, failure_cost(plant, spec.failure_modes[f]));
  };
  double p = 0;
  while (p < limit) {
    // Next part completion: d server-seconds of processing take d / load
    // planned seconds at the machine's load.
    double d = 0, next = limit;
    if (wear_fails && load > 0) {
      d = rng.sample(cycle) * mean_factor;
      next = std::min(limit, p + d / load);
    }
    // Time-triggered failures due before then.
    for (;;) {
      size_t f = std::min_element(clock.begin(), clock.end()) - clock.begin();
      if (modes == 0 || clock[f] >= next) break;
      record(clock[f], f);
      clock[f] += std::max(rng.sample(ttf[f]), 1.0);
    }
    p = next;
    if (p >= limit || d == 0) break;
    for (size_t g = 0; g < wear.size(); ++g) {
      const Degradation& deg = spec.degradations[g];
      double step = deg.rate_per_hour / 3600 * d;
      if (deg.cv > 0) {
        const double sigma2 = std::log1p(deg.cv * deg.cv);
        step *= std::exp(std::sqrt(sigma2) * rng.standard_normal() - sigma2 / 2);
      }
      wear[g] += step;
    }
    // The first worn-out mode fails, as in the simulator; its repair resets that wear.
    for (size_t f = 0; f < modes; ++f) {
      const FailureMode& mode = spec.failure_modes[f];
      if (mode.trigger == FailureTrigger::kDegradation && wear[mode.degradation] >= mode.threshold) {
        record(p, f);
        wear[mode.degradation] = 0;
        break;
      }
    }
  }
  return first;
}

}  // namespace

double failure_cost(const Plant& plant, const FailureMode& mode) {
  return mode.parts_cost + mode.repair_time.mean() / 3600 * (plant.costs.labour_per_hour + plant.costs.downtime_per_hour);
}

double MachineForecast::cost_within(double x, bool from_now) const {
  const std::vector<double>& curve = from_now ? expected_cost_now : expected_cost;
  if (curve.empty() || x <= 0) return 0;
  double k = x / step;
  size_t i = static_cast<size_t>(k);
  if (i + 1 >= curve.size()) return curve.back();
  double frac = k - static_cast<double>(i);
  return curve[i] + frac * (curve[i + 1] - curve[i]);
}

double MachineForecast::failure_probability(double x) const {
  if (first_failure.empty()) return 0;
  auto it = std::upper_bound(first_failure.begin(), first_failure.end(), x);
  return static_cast<double>(it - first_failure.begin()) / static_cast<double>(first_failure.size());
}

double MachineForecast::rul_quantile(double q) const {
  if (first_failure.empty()) return kInf;
  size_t i = std::min(first_failure.size() - 1, static_cast<size_t>(q * static_cast<double>(first_failure.size())));
  return first_failure[i];
}

Result<std::vector<MachineForecast>> forecast_failures(const Plant& plant, const ForecastOptions& options,
                                                       const std::vector<std::vector<double>>& loads) {
  OFFICINA_CHECK(validate_horizon(options.horizon, "plan horizon"));
  if (options.paths < 1 || options.paths > 1000000) return fail("forecast: paths must be in [1, 1000000] (got {})", options.paths);
  size_t total = 0;
  for (const Line& line : plant.lines) total += line.machines.size();
  if (loads.size() != total) return fail("forecast: {} load lists for {} machines", loads.size(), total);
  double mean_factor = 0;
  for (const Product& p : plant.products) mean_factor += p.mix * p.cycle_factor;
  if (!(mean_factor > 0)) mean_factor = 1;
  const double limit = plant.calendar.planned_before(options.horizon);

  std::vector<MachineForecast> out;
  size_t index = 0;
  for (size_t l = 0; l < plant.lines.size(); ++l) {
    const Line& line = plant.lines[l];
    for (size_t k = 0; k < line.machines.size(); ++k, ++index) {
      const Machine& spec = line.machines[k];
      const std::vector<double>& samples = loads[index];
      if (samples.empty()) return fail("forecast: no load samples for machine '{}'", spec.name);
      for (double s : samples) {
        if (!(s >= 0) || !std::isfinite(s)) return fail("forecast: machine '{}': load {} must be finite and >= 0", spec.name, s);
      }
      MachineForecast f;
      f.line = static_cast<int>(l);
      f.machine = static_cast<int>(k);
      f.name = plant.lines.size() > 1 ? line.name + "/" + spec.name : spec.name;
      for (double s : samples) f.mean_load += s / static_cast<double>(samples.size());
      const size_t points = static_cast<size_t>(std::ceil(limit / f.step)) + 2;
      std::vector<Sampler> ttf;
      for (const FailureMode& mode : spec.failure_modes) ttf.emplace_back(mode.time_to_failure);
      const Sampler cycle(spec.cycle_time);
      bool worn = false;
      for (const Degradation& d : spec.degradations) worn |= d.initial > 0;
      // From now, then (for a machine that is not new) from a renewal.
      for (int pass = 0; pass < (worn ? 2 : 1); ++pass) {
        const bool from_now = pass == 0;
        CostBins bins{f.step, std::vector<double>(points, 0.0)};
        RandomStream rng(options.seed, source_id(line.name + "/" + spec.name + (from_now ? "/forecast" : "/forecast-renewed")));
        for (int path = 0; path < options.paths; ++path) {
          // Paths take the pilot's loads in turn, so each load gets its share.
          const double load = samples[static_cast<size_t>(path) % samples.size()];
          double first = simulate_path(spec, plant, load, limit, from_now, rng, ttf, cycle, mean_factor, bins);
          if (from_now) f.first_failure.push_back(first);
        }
        std::vector<double>& curve = from_now ? f.expected_cost_now : f.expected_cost;
        curve.assign(points, 0.0);
        double cum = 0;
        for (size_t b = 0; b + 1 < points; ++b) {
          cum += bins.bins[b] / options.paths;
          curve[b + 1] = cum;
        }
      }
      if (!worn) f.expected_cost = f.expected_cost_now;
      std::sort(f.first_failure.begin(), f.first_failure.end());
      out.push_back(std::move(f));
    }
  }
  return out;
}

Result<PlanProblem> build_plan_problem(const Plant& plant, const std::vector<MachineForecast>& forecasts,
                                       const PlanBuildOptions& options) {
  OFFICINA_CHECK(validate_horizon(options.horizon, "plan horizon"));
  if (!(options.window >= 60) || options.window > options.horizon) {
    return fail("plan: window must be between 1 minute and the horizon (got {} s)", options.window);
  }
  if (options.horizon / options.window > 2000) {
    return fail("plan: {:.0f} windows of {} s in the horizon; use a window of at least {:.0f} s", std::ceil(options.horizon / options.window),
                options.window, std::ceil(options.horizon / 2000));
  }
  if (forecasts.empty()) return fail("plan: no machines to plan");
  const Calendar& cal = plant.calendar;
  PlanProblem p;
  p.horizon = options.horizon;
  p.crews = plant.crews;
  p.max_actions = options.max_actions;
  for (double s = 0; s < options.horizon; s += options.window) {
    p.windows.push_back({s, std::min(s + options.window, options.horizon), cal.in_shift(s)});
  }
  const size_t w = p.windows.size();
  // Node times: now, each window's start, the horizon.
  std::vector<double> planned(w + 2);
  planned[0] = 0;
  for (size_t k = 0; k < w; ++k) planned[k + 1] = cal.planned_before(p.windows[k].start);
  planned[w + 1] = cal.planned_before(options.horizon);

  for (const MachineForecast& f : forecasts) {
    if (f.line < 0 || static_cast<size_t>(f.line) >= plant.lines.size() || f.machine < 0 ||
        static_cast<size_t>(f.machine) >= plant.lines[f.line].machines.size()) {
      return fail("plan: forecast '{}' names no machine of the plant", f.name);
    }
    const Maintenance& mt = plant.lines[f.line].machines[f.machine].maintenance;
    const double duration = mt.duration.mean();
    PlanMachine m;
    m.name = f.name;
    for (size_t k = 0; k < w; ++k) {
      const double start = p.windows[k].start;
      const double lost = cal.planned_before(start + duration) - cal.planned_before(start);
      m.pm_cost.push_back(mt.parts_cost + duration / 3600 * plant.costs.labour_per_hour + lost / 3600 * plant.costs.downtime_per_hour);
    }
    m.segment_cost.assign((w + 1) * (w + 2), 0.0);
    for (size_t i = 0; i <= w; ++i) {
      for (size_t j = i + 1; j <= w + 1; ++j) m.segment_cost[i * (w + 2) + j] = f.cost_within(planned[j] - planned[i], i == 0);
    }
    p.machines.push_back(std::move(m));
  }
  OFFICINA_CHECK(validate_plan_problem(p));
  return p;
}

}  // namespace officina::twin
