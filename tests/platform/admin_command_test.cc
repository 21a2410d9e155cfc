// `officina admin`: the operator's commands, run as a process against a data
// directory, including `audit verify` catching a row changed behind the
// store's back.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "platform/sqlite_db.h"

namespace officina {
namespace {

struct CommandRun {
  int code = -1;
  std::string out, err;
};

class AdminCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("officina-admin-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CommandRun admin(const std::string& args) { return officina("admin " + args); }
  // `officina ARGS --data-dir DIR/data`.
  CommandRun officina(const std::string& args) {
    const std::string out = (dir_ / "out.txt").string(), err = (dir_ / "err.txt").string();
    const std::string cmd = std::string(OFFICINA_BINARY) + " " + args + " --data-dir " + (dir_ / "data").string() +
                            " > " + out + " 2> " + err;
    const int status = std::system(cmd.c_str());
    CommandRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream o(out), e(err);
    std::stringstream so, se;
    so << o.rdbuf();
    se << e.rdbuf();
    r.out = so.str();
    r.err = se.str();
    return r;
  }
  std::filesystem::path dir_;
};

TEST_F(AdminCommand, OnboardsATenantAndVerifiesTheAuditLog) {
  CommandRun init = admin("init");
  ASSERT_EQ(init.code, 0) << init.err;
  const std::string key = init.out.substr(init.out.rfind("sk-ofc-"));
  EXPECT_EQ(key.size(), std::string("sk-ofc-0123456789abcdef-0123456789012345678901234567890123456789\n").size());
  EXPECT_EQ(admin("init").code, 1);  // once only
  CommandRun org = admin("org create 'Officine Verdi' --kind startup");
  ASSERT_EQ(org.code, 0) << org.err;
  const std::string org_id = nlohmann::json::parse(org.out)["id"];
  CommandRun project = admin("project create " + org_id + " manutenzione");
  ASSERT_EQ(project.code, 0) << project.err;
  const std::string project_id = nlohmann::json::parse(project.out)["id"];
  CommandRun allocation = admin("allocation create " + project_id + " --tier fast_lane --core-hours 2000 --days 180");
  ASSERT_EQ(allocation.code, 0) << allocation.err;
  EXPECT_EQ(nlohmann::json::parse(allocation.out)["tier"], "fast_lane");
  CommandRun made = admin("key create " + project_id + " --role member");
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_NE(made.out.rfind("sk-ofc-"), std::string::npos);
  CommandRun keys = admin("key list " + project_id);
  ASSERT_EQ(keys.code, 0);
  EXPECT_EQ(nlohmann::json::parse(keys.out)["data"].size(), 1u);
  EXPECT_EQ(keys.out.find("argon2"), std::string::npos);
  CommandRun usage = admin("usage " + project_id);
  ASSERT_EQ(usage.code, 0);
  EXPECT_EQ(nlohmann::json::parse(usage.out)["allocations"][0]["remaining_core_hours"], 2000.0);
  CommandRun verify = admin("audit verify");
  ASSERT_EQ(verify.code, 0) << verify.err;
  EXPECT_EQ(nlohmann::json::parse(verify.out)["ok"], true);
  EXPECT_EQ(nlohmann::json::parse(verify.out)["entries"], 6);

  // Someone edits the allocation's audit entry with sqlite behind officina's back.
  {
    auto db = SqliteDb::open((dir_ / "data" / "officina.db").string());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("DROP TRIGGER audit_log_no_update"));
    ASSERT_TRUE(db->exec("UPDATE audit_log SET detail = replace(detail, '2000', '200000') WHERE action = 'allocation.create'"));
  }
  CommandRun broken = admin("audit verify");
  EXPECT_EQ(broken.code, 1);
  EXPECT_EQ(nlohmann::json::parse(broken.out)["ok"], false);
  EXPECT_EQ(nlohmann::json::parse(broken.out)["first_bad_seq"], 5);
  EXPECT_NE(broken.err.find("broken at entry 5"), std::string::npos) << broken.err;
}

TEST_F(AdminCommand, BadInputGetsClearErrors) {
  CommandRun missing = admin("org list");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("admin init"), std::string::npos) << missing.err;
  ASSERT_EQ(admin("init").code, 0);
  CommandRun kind = admin("org create X --kind bank");
  EXPECT_EQ(kind.code, 1);
  EXPECT_NE(kind.err.find("kind 'bank'"), std::string::npos) << kind.err;
  CommandRun project = admin("project create org_nothing p");
  EXPECT_EQ(project.code, 1);
  EXPECT_NE(project.err.find("No organization"), std::string::npos) << project.err;
  CommandRun no_role = admin("key create proj_x");
  EXPECT_EQ(no_role.code, 1);
  CommandRun both = admin("key create proj_x --operator --role owner");
  EXPECT_EQ(both.code, 1);
  CommandRun revoke = admin("key revoke key_0000000000000000");
  EXPECT_EQ(revoke.code, 1);
  CommandRun tier = admin("allocation create proj_x --tier gold --core-hours 1 --days 30");
  EXPECT_EQ(tier.code, 1);
  // The store is unchanged by the failures: only the init entries are in the log.
  CommandRun verify = admin("audit verify");
  ASSERT_EQ(verify.code, 0);
  EXPECT_EQ(nlohmann::json::parse(verify.out)["entries"], 2);
}

// A Slurm executor without its partition or shared directory cannot place
// jobs: the server refuses to start and says which option is missing.
TEST_F(AdminCommand, ServeRefusesAnIncompleteSlurmSetup) {
  const char* conformance = std::getenv("OFFICINA_CONFORMANCE_DIR");
  if (!conformance) GTEST_SKIP() << "OFFICINA_CONFORMANCE_DIR is not set";
  const std::string model = std::string(conformance) + "/models/tiny-gqa.gguf";
  ASSERT_EQ(admin("init").code, 0);
  const std::string serve = "serve -m " + model + " --port 0 --executor slurm";
  CommandRun no_partition = officina(serve + " --slurm-workdir " + (dir_ / "shared").string());
  EXPECT_EQ(no_partition.code, 1);
  EXPECT_NE(no_partition.err.find("--executor slurm needs --slurm-partition"), std::string::npos) << no_partition.err;
  CommandRun no_workdir = officina(serve + " --slurm-partition debug");
  EXPECT_EQ(no_workdir.code, 1);
  EXPECT_NE(no_workdir.err.find("needs --slurm-workdir"), std::string::npos) << no_workdir.err;
  CommandRun other = officina("serve -m " + model + " --port 0 --executor pbs");
  EXPECT_NE(other.code, 0);
  EXPECT_NE(other.err.find("pbs"), std::string::npos) << other.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "shared")) << "a refused start left a job directory";
}

}  // namespace
}  // namespace officina
