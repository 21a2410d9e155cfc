// `officina twin plan` end to end through the built binary: the example in
// docs/twin.md ("Maintenance plan") runs, the tables and the JSON carry the
// plan and the comparison with intervals, and bad arguments fail with one
// clear line.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "test_util.h"

namespace officina {
namespace {

std::string q(const std::string& s) { return test::shell_quote(s); }
std::string demo_plant() { return std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml"; }

// The `officina twin plan` lines of docs/twin.md's ```sh blocks, and the
// `twin simulate` lines that replay a plan.
std::vector<std::string> documented_plan_commands() {
  auto text = read_text_file(std::string(OFFICINA_SOURCE_DIR) + "/docs/twin.md");
  EXPECT_TRUE(text.has_value());
  std::vector<std::string> out;
  std::istringstream in(text.value_or(""));
  bool in_sh = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) {
      in_sh = !in_sh && line == "```sh";
      continue;
    }
    if (!in_sh) continue;
    if (line.starts_with("officina twin plan ") || (line.starts_with("officina twin simulate ") && line.ends_with(" plan.yaml"))) {
      out.push_back(line);
    }
  }
  return out;
}

TEST(TwinPlanCli, DocumentedExampleRunsAndWritesThePlanAndComparison) {
  std::vector<std::string> commands = documented_plan_commands();
  ASSERT_FALSE(commands.empty()) << "docs/twin.md has no `officina twin plan` example";
  test::TempDir dir;
  for (std::string cmd : commands) {
    // Run in the source tree's terms: the example's relative paths.
    cmd = cmd.substr(std::string("officina ").size());
    size_t at = cmd.find("examples/plants/");
    if (at != std::string::npos) cmd.replace(at, 0, std::string(OFFICINA_SOURCE_DIR) + "/");
    for (const std::string name : {" plan.json", " plan.yaml"}) {
      at = cmd.find(name);
      if (at != std::string::npos) cmd.replace(at, name.size(), " " + q(dir.path(name.substr(1))));
    }
    test::Outcome r = test::run_officina(cmd);
    ASSERT_EQ(r.code, 0) << cmd << "\n" << r.err;
    if (cmd.starts_with("twin plan ")) {
      EXPECT_NE(r.out.find("Maintenance plan"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("plan - best fixed interval (paired)"), std::string::npos) << r.out;
    } else {
      EXPECT_NE(r.out.find("scenario maintenance-plan"), std::string::npos) << r.out;  // the replay
    }
  }
  auto text = read_text_file(dir.path("plan.json"));
  ASSERT_TRUE(text.has_value()) << "the example writes plan.json";
  Json j = Json::parse(*text);
  EXPECT_EQ(j["solver"]["name"], "cbc");
  EXPECT_EQ(j["solver"]["status"], "optimal");
  ASSERT_TRUE(j["plan"].is_array());
  EXPECT_FALSE(j["plan"].empty());
  for (const Json& a : j["plan"]) {
    EXPECT_LE(a["crew"].get<int>(), j["crews"].get<int>());
    EXPECT_LT(a["window_start_s"].get<double>(), a["window_end_s"].get<double>());
  }
  for (const char* p : {"run_to_failure", "best_fixed_interval", "plan"}) {
    const Json& cost = j["policies"][p]["cost"];
    EXPECT_LE(cost["lo"].get<double>(), cost["mean"].get<double>()) << p;
    EXPECT_GE(cost["hi"].get<double>(), cost["mean"].get<double>()) << p;
  }
  // The plan pays: both paired cost differences lie below zero.
  EXPECT_LT(j["difference"]["plan_vs_run_to_failure"]["cost"]["hi"].get<double>(), 0);
  EXPECT_LT(j["difference"]["plan_vs_best_fixed_interval"]["cost"]["hi"].get<double>(), 0);
}

TEST(TwinPlanCli, JsonToStdout) {
  test::Outcome r = test::run_officina("twin plan " + q(demo_plant()) + " --horizon 3d -n 4 --pilot 2 --paths 100 --json -");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);  // nothing but the JSON
  EXPECT_EQ(j["horizon_s"].get<double>(), 3 * 86400.0);
  EXPECT_EQ(j["replications"].get<int>(), 4);
}

TEST(TwinPlanCli, BadArgumentsFailWithOneClearLine) {
  struct Case {
    std::string args;
    std::string message;
  };
  const Case cases[] = {
      {"twin plan " + q(demo_plant()) + " --horizon 0", "--horizon"},
      {"twin plan " + q(demo_plant()) + " --horizon 20000d", "--horizon"},
      {"twin plan " + q(demo_plant()) + " --horizon fortnight", "not a duration"},
      {"twin plan " + q(demo_plant()) + " --horizon 14d --window 1s", "window must be between 1 minute and the horizon"},
      {"twin plan " + q(demo_plant()) + " --horizon 14d -n 1", "--replications"},
      {"twin plan " + q(demo_plant()) + " --horizon 14d --paths 0", "--paths"},
      {"twin plan " + q(demo_plant()) + " --horizon 14d --max-actions -1", "--max-actions"},
      {"twin plan /nonexistent/plant.yaml", "/nonexistent/plant.yaml"},
  };
  for (const Case& c : cases) {
    test::Outcome r = test::run_officina(c.args);
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

}  // namespace
}  // namespace officina
