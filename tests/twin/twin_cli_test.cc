// `officina twin ...` end to end through the built binary: validate (the demo
// passes, broken plants fail with one line naming the key path), simulate
// (the JSON's shape and intervals, thread-count independence), --scenario
// (the paired difference) and export-runs (the C-MAPSS text and CSV files).
// The binary must exist: a missing one fails these tests rather than
// skipping them (tests/CMakeLists.txt makes twin_tests depend on officina).
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

std::string q(const std::string& s) { return test::shell_quote(s); }

std::string demo_plant() { return std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml"; }
std::string third_shift() { return std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/scenario-third-shift.yaml"; }

using test::Outcome;

Outcome run(const std::string& args) { return test::run_officina(args); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(TwinCli, TheBinaryIsBuilt) {
  EXPECT_TRUE(std::filesystem::exists(test::officina_binary())) << test::officina_binary();
}

TEST(TwinCli, ValidateAcceptsTheDemoPlant) {
  Outcome r = run("twin validate " + q(demo_plant()));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("valid"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("6 machine(s)"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(TwinCli, ValidateRejectsBrokenPlantsWithOneLineNamingThePath) {
  struct Case {
    std::string yaml;
    std::string path;  // the key path the error must name
  };
  const Case cases[] = {
      {"lines:\n  - name: L\n    machines:\n      - {name: a, cycle_time: 10s}\n      - {name: b, cycle_time: -5s}\n",
       "lines[0].machines[1].cycle_time"},
      {"lines:\n  - name: L\n    machines:\n      - {name: a, cycle_time: 10s}\n"
       "      - {name: b, cycle_time: {dist: normal, mean: 0s, sd: 1s}}\n",
       "lines[0].machines[1].cycle_time"},
      {"lines:\n  - name: L\n    machines:\n      - {name: a, cycle_time: 10s, capacity: 0}\n", "lines[0].machines[0].capacity"},
      {"crews: 2\nlines:\n  - name: L\n    machines:\n      - {name: a, cycle_time: 10s, colour: red}\n",
       "lines[0].machines[0].colour"},
  };
  test::TempDir dir;
  int i = 0;
  for (const Case& c : cases) {
    const std::string file = dir.path("broken" + std::to_string(i++) + ".yaml");
    write(file, c.yaml);
    Outcome r = run("twin validate " + q(file));
    EXPECT_EQ(r.code, 1) << c.yaml;
    std::vector<std::string> err = lines_of(r.err);
    ASSERT_EQ(err.size(), 1u) << r.err;
    EXPECT_NE(err[0].find(c.path), std::string::npos) << err[0];
    EXPECT_NE(err[0].find(file + ":"), std::string::npos) << "names the file: " << err[0];
    EXPECT_EQ(r.out, "");
  }
  Outcome missing = run("twin validate " + q(dir.path("no-such-plant.yaml")));
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(lines_of(missing.err).size(), 1u) << missing.err;
  EXPECT_NE(missing.err.find("no-such-plant.yaml"), std::string::npos) << missing.err;
}

// mean, lo and hi present, finite and ordered.
void expect_interval(const Json& kpis, const std::string& name, const std::string& where) {
  ASSERT_TRUE(kpis.contains(name)) << where << ": no " << name;
  const Json& e = kpis[name];
  for (const char* k : {"mean", "lo", "hi"}) {
    ASSERT_TRUE(e.contains(k) && e[k].is_number()) << where << "." << name << ": no " << k;
    EXPECT_TRUE(std::isfinite(e[k].get<double>())) << where << "." << name << "." << k;
  }
  EXPECT_LE(e["lo"].get<double>(), e["mean"].get<double>()) << where << "." << name;
  EXPECT_LE(e["mean"].get<double>(), e["hi"].get<double>()) << where << "." << name;
}

void expect_oee_kpis(const Json& kpis, const std::string& where) {
  for (const char* k : {"throughput", "oee", "availability", "performance", "quality"}) expect_interval(kpis, k, where);
  for (const char* k : {"oee", "availability", "quality"}) {
    EXPECT_GE(kpis[k]["mean"].get<double>(), 0) << where << "." << k;
    EXPECT_LE(kpis[k]["mean"].get<double>(), 1) << where << "." << k;
  }
  EXPECT_GT(kpis["throughput"]["mean"].get<double>(), 0) << where;
}

Json simulate_json(const std::string& extra, const test::TempDir& dir, const std::string& name) {
  const std::string out = dir.path(name);
  Outcome r = run("twin simulate " + q(demo_plant()) + " --horizon 7d --replications 4 --seed 1 --json " + q(out) + " " + extra);
  EXPECT_EQ(r.code, 0) << r.err;
  auto json = read_json_file(out);
  EXPECT_TRUE(json.has_value()) << (json ? "" : json.error().message);
  return json ? *json : Json();
}

TEST(TwinCli, SimulateWritesKpisWithConfidenceIntervals) {
  test::TempDir dir;
  Json j = simulate_json("", dir, "kpis.json");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["replications"], 4);
  EXPECT_EQ(j["seed"], 1);
  EXPECT_EQ(j["horizon_s"].get<double>(), 7 * 86400.0);
  EXPECT_GT(j["events_per_second"].get<double>(), 0);
  EXPECT_GT(j["replications_per_second"].get<double>(), 0);
  const Json& base = j["baseline"];
  EXPECT_EQ(base["replications"], 4);
  EXPECT_GT(base["events"].get<double>(), 0);
  EXPECT_GT(base["events_per_second"].get<double>(), 0);
  ASSERT_EQ(base["lines"].size(), 1u);
  const Json& line = base["lines"][0];
  EXPECT_EQ(line["name"], "telai");
  expect_oee_kpis(line["kpis"], "telai");
  const std::vector<std::string> machines = {"pressa", "centro-cnc", "cella-saldatura", "forno-verniciatura", "montaggio", "imballaggio"};
  ASSERT_EQ(line["machines"].size(), machines.size());
  for (size_t m = 0; m < machines.size(); ++m) {
    const Json& mk = line["machines"][m];
    EXPECT_EQ(mk["name"], machines[m]);
    expect_oee_kpis(mk["kpis"], machines[m]);
  }
  EXPECT_FALSE(j.contains("scenario"));
  EXPECT_FALSE(j.contains("difference"));
}

TEST(TwinCli, SimulateResultsDoNotDependOnTheThreadCount) {
  test::TempDir dir;
  Json one = simulate_json("--threads 1", dir, "one.json");
  Json two = simulate_json("--threads 2", dir, "two.json");
  ASSERT_TRUE(one.is_object() && two.is_object());
  EXPECT_EQ(one["threads"], 1);
  EXPECT_EQ(two["threads"], 2);
  EXPECT_EQ(one["baseline"]["lines"], two["baseline"]["lines"]);
  EXPECT_EQ(one["baseline"]["events"], two["baseline"]["events"]);
}

TEST(TwinCli, ScenarioReportsThePairedDifferenceFromTheBaseline) {
  test::TempDir dir;
  Json j = simulate_json("--scenario " + q(third_shift()), dir, "scenario.json");
  ASSERT_TRUE(j.contains("scenario") && j.contains("difference")) << j.dump().substr(0, 200);
  EXPECT_EQ(j["scenario"]["name"], "third-shift");
  EXPECT_FALSE(j["scenario"]["description"].get<std::string>().empty());
  const Json& base = j["baseline"]["lines"][0]["kpis"];
  const Json& alt = j["scenario"]["lines"][0]["kpis"];
  const Json& diff = j["difference"]["lines"][0]["kpis"];
  expect_oee_kpis(alt, "scenario");
  for (const char* k : {"throughput", "oee", "availability", "performance", "quality"}) {
    expect_interval(diff, k, "difference");
    // The mean of paired differences is the difference of the means.
    const double d = alt[k]["mean"].get<double>() - base[k]["mean"].get<double>();
    EXPECT_NEAR(diff[k]["mean"].get<double>(), d, 1e-9 * (1 + std::abs(d))) << k;
  }
  // Half as much production time again: clearly more frames a calendar hour.
  EXPECT_GT(diff["throughput"]["lo"].get<double>(), 0);
  ASSERT_EQ(j["difference"]["lines"][0]["machines"].size(), 6u);
  expect_interval(j["difference"]["lines"][0]["machines"][3]["kpis"], "availability", "difference.forno-verniciatura");
}

// Fields of a space- or comma-separated line.
std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

TEST(TwinCli, ExportRunsWritesCmapssTextAndCsv) {
  test::TempDir dir;
  const std::string out = dir.path("runs");
  Outcome r = run("twin export-runs " + q(demo_plant()) + " --out " + q(out) + " --horizon 365d --seed 1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto index = read_json_file(out + "/index.json");
  ASSERT_TRUE(index.has_value()) << index.error().message;
  ASSERT_EQ((*index)["machines"].size(), 3u);  // the press, the CNC and the oven have sensors
  int total_units = 0;
  for (const Json& m : (*index)["machines"]) {
    const size_t sensors = m["sensors"].size();
    const std::string stem = m["files"][0].get<std::string>();
    ASSERT_EQ(stem.substr(stem.size() - 4), ".txt");
    auto txt = read_text_file(out + "/" + stem);
    auto csv = read_text_file(out + "/" + m["files"][1].get<std::string>());
    ASSERT_TRUE(txt && csv) << stem;
    std::vector<std::string> rows = lines_of(*txt), csv_rows = lines_of(*csv);
    ASSERT_EQ(csv_rows.size(), rows.size() + 1) << "the CSV has a header, the text file none";
    std::vector<std::string> header = split(csv_rows[0], ',');
    ASSERT_EQ(header.size(), 5 + sensors);
    EXPECT_EQ(std::vector<std::string>(header.begin(), header.begin() + 5),
              (std::vector<std::string>{"unit", "cycle", "setting1", "setting2", "setting3"}));
    for (size_t s = 0; s < sensors; ++s) EXPECT_EQ(header[5 + s], m["sensors"][s]["name"]);
    int unit = 0, cycle = 0;
    for (size_t k = 0; k < rows.size(); ++k) {
      std::vector<std::string> f = split(rows[k], ' ');
      ASSERT_EQ(f.size(), 5 + sensors) << stem << " row " << k + 1 << ": " << rows[k];
      for (const std::string& x : f) {
        size_t used = 0;
        EXPECT_TRUE(std::isfinite(std::stod(x, &used)) && used == x.size()) << rows[k];
      }
      const int u = std::stoi(f[0]), c = std::stoi(f[1]);
      if (u != unit) {  // a new run to failure: units count from 1, cycles restart at 1
        EXPECT_EQ(u, unit + 1) << stem << " row " << k + 1;
        EXPECT_EQ(c, 1) << stem << " row " << k + 1;
        unit = u;
      } else {
        EXPECT_EQ(c, cycle + 1) << stem << " row " << k + 1;
      }
      cycle = c;
      EXPECT_GE(std::stod(f[3]), 0);  // load
      EXPECT_LE(std::stod(f[3]), 1);
      EXPECT_GE(std::stod(f[4]), 0);  // hours since renewal
      std::string as_csv = rows[k];
      for (char& ch : as_csv) ch = ch == ' ' ? ',' : ch;
      EXPECT_EQ(csv_rows[k + 1], as_csv) << "the CSV row matches the text row";
    }
    EXPECT_EQ(unit, m["runs_to_failure"].get<int>()) << stem;
    total_units += unit;
  }
  EXPECT_GT(total_units, 0) << "a year of the demo plant has failures with sensor histories";
  EXPECT_EQ((*index)["runs_to_failure"].get<int>(), total_units);
  EXPECT_NE(r.out.find("runs to failure"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace officina
