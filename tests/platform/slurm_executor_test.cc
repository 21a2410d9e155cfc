// The Slurm executor without a cluster: what Slurm's commands print (real
// lines, garbage, truncations), the batch script, and the executor driving
// stand-in sbatch/scontrol/sacct/squeue/scancel scripts (missing, refusing,
// answering nonsense, down). tests/platform/platform_slurm.test.mjs runs the
// same executor against a real single-node Slurm.
#include "platform/slurm_executor.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "platform/fine_tune_jobs.h"
#include "platform/slurm_output.h"
#include "test_util.h"

namespace officina {
namespace {

constexpr const char* kRunning =
    "JobId=42 JobName=officina-ftjob-1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 "
    "Account=acme QOS=normal JobState=RUNNING Reason=None Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 "
    "Reboot=0 ExitCode=0:0 RunTime=00:01:05 TimeLimit=00:10:00 TimeMin=N/A SubmitTime=2026-11-25T10:43:01 "
    "Partition=debug AllocNode:Sid=localhost:32730 ReqNodeList=(null) ExcNodeList=(null) NodeList=node07 "
    "BatchHost=node07 NumNodes=1 NumCPUs=4 NumTasks=2 CPUs/Task=2 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=4,mem=4096M,node=1,billing=4,gres/gpu=2 Socks/Node=* Command=/shared/my jobs/job.sbatch "
    "WorkDir=/shared/my jobs StdErr=/shared/my jobs/log.txt Power=";

TEST(SlurmOutput, ReadsARunningJob) {
  auto info = parse_scontrol_job(kRunning);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->id, 42);
  EXPECT_EQ(info->state, "RUNNING");
  EXPECT_EQ(info->reason, "");
  EXPECT_EQ(info->node, "node07");
  EXPECT_DOUBLE_EQ(info->elapsed_seconds, 65);
  EXPECT_EQ(info->cpus, 4);
  EXPECT_EQ(info->gpus, 2);
  EXPECT_EQ(scontrol_value(kRunning, "WorkDir"), "/shared/my jobs");  // values with spaces
  EXPECT_EQ(scontrol_value(kRunning, "Command"), "/shared/my jobs/job.sbatch");
  EXPECT_EQ(scontrol_value(kRunning, "Power"), "");
  EXPECT_FALSE(scontrol_value(kRunning, "Missing"));
  EXPECT_FALSE(scontrol_value(kRunning, "Job"));  // a key's prefix is not a key
  const JobPoll p = slurm_job_poll(*info);
  EXPECT_EQ(p.state, JobState::running);
  EXPECT_EQ(p.cpus, 4);
}

TEST(SlurmOutput, MapsEveryStateFamily) {
  auto poll_of = [](const std::string& state, const std::string& extra = "") {
    auto info = parse_scontrol_job("JobId=7 JobState=" + state + " " + extra);
    EXPECT_TRUE(info) << state;
    return info ? slurm_job_poll(*info) : JobPoll{};
  };
  JobPoll pending = poll_of("PENDING", "Reason=Resources ExitCode=0:0");
  EXPECT_EQ(pending.state, JobState::queued);
  EXPECT_EQ(pending.reason, "Resources");
  EXPECT_EQ(poll_of("CONFIGURING").state, JobState::queued);
  EXPECT_EQ(poll_of("COMPLETING").state, JobState::running);
  EXPECT_EQ(poll_of("COMPLETED").state, JobState::succeeded);
  JobPoll failed = poll_of("FAILED", "Reason=NonZeroExitCode ExitCode=3:0");
  EXPECT_EQ(failed.state, JobState::failed);
  EXPECT_EQ(failed.summary, "FAILED (exit code 3), reason NonZeroExitCode");
  JobPoll oom = poll_of("OUT_OF_MEMORY", "Reason=OutOfMemory ExitCode=0:125");
  EXPECT_EQ(oom.state, JobState::failed);
  EXPECT_NE(oom.summary.find("OUT_OF_MEMORY"), std::string::npos);
  EXPECT_EQ(poll_of("NODE_FAIL").state, JobState::failed);
  EXPECT_EQ(poll_of("CANCELLED").state, JobState::cancelled);
  EXPECT_EQ(poll_of("TIMEOUT", "Reason=TimeLimit ExitCode=0:15").state, JobState::timeout);
  EXPECT_EQ(poll_of("SOMETHING_NEW").state, JobState::unknown);
}

TEST(SlurmOutput, ReadsSacctRowsAndSkipsSteps) {
  const std::string out =
      "42.batch|COMPLETED|0:0|00:00:09|1|node07\n"
      "42|CANCELLED by 0|0:15|00:00:10|2|node07\n"
      "42.0|CANCELLED|0:15|00:00:09|2|node07\n";
  auto info = parse_sacct_job(out, 42);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, "CANCELLED");
  EXPECT_DOUBLE_EQ(info->elapsed_seconds, 10);
  EXPECT_EQ(info->cpus, 2);
  EXPECT_EQ(info->signal, 15);
  EXPECT_EQ(slurm_job_poll(*info).state, JobState::cancelled);
  EXPECT_FALSE(parse_sacct_job(out, 43));
  EXPECT_FALSE(parse_sacct_job("", 42));
  EXPECT_FALSE(parse_sacct_job("42|not a state!|x|y|z", 42));
}

TEST(SlurmOutput, ReadsDurationsAndSbatch) {
  EXPECT_DOUBLE_EQ(*parse_slurm_duration("00:01:19"), 79);
  EXPECT_DOUBLE_EQ(*parse_slurm_duration("2-03:00:01"), 2 * 86400 + 3 * 3600 + 1);
  EXPECT_DOUBLE_EQ(*parse_slurm_duration("05:07"), 307);
  EXPECT_DOUBLE_EQ(*parse_slurm_duration("05:07.250"), 307);
  for (const char* bad : {"", "UNLIMITED", "INVALID", "1:2:3:4", "-5", "12:", "a:b", "99999999999999999999:00"}) {
    EXPECT_FALSE(parse_slurm_duration(bad)) << bad;
  }
  EXPECT_EQ(*parse_sbatch_output("123\n"), 123);
  EXPECT_EQ(*parse_sbatch_output("sbatch: warning: something\n124;cluster1\n"), 124);
  for (const char* bad : {"", "Submitted batch job", "-4", "abc;def", "0"}) EXPECT_FALSE(parse_sbatch_output(bad)) << bad;
}

TEST(SlurmOutput, GarbageNeverCrashesTheParsers) {
  const std::string samples[] = {
      "", "=", "JobId=", "JobId=abc JobState=RUNNING", "JobId=5", "JobId=5 JobState=", "JobId=5 JobState=running",
      "JobId=5 JobState=RUNNING RunTime=garbage NumCPUs=lots TRES=gres/gpu ExitCode=::",
      "JobId=5 JobState=RUNNING TRES=gres/gpu=,gres/gpu=x,gres/gpu:a100=3 ExitCode=7",
      std::string(100000, 'J'), std::string("JobId=1 JobState=RUNNING\0garbage", 32), "slurm_load_jobs error: Invalid job id specified"};
  for (const auto& s : samples) {
    auto info = parse_scontrol_job(s);
    if (info) (void)slurm_job_poll(*info);
    (void)parse_sacct_job(s, 5);
    (void)parse_sbatch_output(s);
    (void)parse_slurm_duration(s);
  }
  EXPECT_FALSE(parse_scontrol_job("JobId=-5 JobState=RUNNING"));
  EXPECT_FALSE(parse_scontrol_job("JobId=0 JobState=RUNNING"));
  // Counts that would overflow, or are negative, read as none.
  auto absurd = parse_scontrol_job("JobId=5 JobState=RUNNING NumCPUs=-4 TRES=gres/gpu=2000000000,gres/gpu=2000000000");
  ASSERT_TRUE(absurd);
  EXPECT_EQ(absurd->cpus, 0);
  EXPECT_EQ(absurd->gpus, 0);
  auto many = parse_scontrol_job("JobId=5 JobState=RUNNING TRES=gres/gpu=4,gres/gpu=4");
  ASSERT_TRUE(many);
  EXPECT_EQ(many->gpus, 8);
  auto row = parse_sacct_job("5|COMPLETED|0:0|00:00:10|-2|vm", 5);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->cpus, 0);
  auto truncated = parse_scontrol_job("JobId=5 JobState=RUNNING TRES=gres/gpu=2");
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->gpus, 2);
  // Every prefix of a real line: an answer or an error, nothing else.
  const std::string line = kRunning;
  for (size_t n = 0; n <= line.size(); n += 7) (void)parse_scontrol_job(line.substr(0, n));
}

TEST(SlurmBatchScript, HoldsTheResourcesAndQuotesEveryArgument) {
  JobLaunch l;
  l.argv = {"/opt/officina/bin/officina", "finetune", "--data", "/shared/it's here/train.jsonl", "$(rm -rf /)", "`id`"};
  l.name = "officina-ftjob-abc";
  l.work_dir = "/shared/jobs/p/ftjob-abc";
  l.log_path = l.work_dir + "/log.txt";
  l.account = "ofc_proj_1";
  l.resources = JobResources{2, 4, 8, 16384, 90, 1};
  SlurmOptions o;
  o.partition = "boost_usr_prod";
  o.qos = "normal";
  const std::string s = slurm_batch_script(l, o);
  for (const char* want : {"#SBATCH --job-name=officina-ftjob-abc\n", "#SBATCH --partition=boost_usr_prod\n",
                           "#SBATCH --qos=normal\n", "#SBATCH --account=ofc_proj_1\n", "#SBATCH --nodes=2\n",
                           "#SBATCH --ntasks-per-node=4\n", "#SBATCH --cpus-per-task=8\n", "#SBATCH --mem=16384M\n",
                           "#SBATCH --time=90\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --no-requeue\n",
                           "#SBATCH --output=/shared/jobs/p/ftjob-abc/log.txt\n", "umask 077\n",
                           "export OMP_NUM_THREADS=8\n", "srun --kill-on-bad-exit=1 --mpi=pmix "}) {
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
  }
  EXPECT_NE(s.find("'/shared/it'\\''s here/train.jsonl'"), std::string::npos) << s;
  EXPECT_NE(s.find("'$(rm -rf /)' '`id`'"), std::string::npos) << s;
  // A single task runs without MPI; no account, QoS or GPUs unless given.
  l.resources = JobResources{};
  l.account.clear();
  o.qos.clear();
  const std::string one = slurm_batch_script(l, o);
  EXPECT_EQ(one.find("--mpi"), std::string::npos);
  EXPECT_EQ(one.find("--account"), std::string::npos);
  EXPECT_EQ(one.find("--qos"), std::string::npos);
  EXPECT_EQ(one.find("--gres"), std::string::npos);
  EXPECT_EQ(slurm_account("ofc_", "proj_AB.c/1"), "ofc_proj_ab_c_1");
  EXPECT_EQ(slurm_account("", "proj_1"), "");
}

// Stand-in Slurm commands in a directory of their own.
class FakeSlurm : public ::testing::Test {
 protected:
  void tool(const std::string& name, const std::string& body) {
    const std::string path = dir_.path(name);
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
  }
  SlurmOptions options() {
    SlurmOptions o;
    o.partition = "debug";
    o.bin_dir = dir_.path();
    o.poll_interval = 0;
    o.max_backoff = 0;
    o.command_timeout = 5;
    return o;
  }
  JobLaunch launch() {
    JobLaunch l;
    l.argv = {"/bin/true"};
    l.name = "officina-ftjob-test";
    l.work_dir = dir_.path("job");
    l.log_path = l.work_dir + "/log.txt";
    return l;
  }
  test::TempDir dir_;
};

TEST_F(FakeSlurm, SubmitsAndFollowsAJob) {
  tool("sbatch", "echo \"$@\" > " + dir_.path("sbatch.args") + "; echo 77");
  tool("scontrol", "echo 'JobId=77 JobState=PENDING Reason=Priority RunTime=00:00:00 NumCPUs=1'");
  SlurmExecutor slurm(options());
  auto id = slurm.start(launch());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, 77);
  EXPECT_NE(test::read_file(dir_.path("sbatch.args")).find("--parsable " + dir_.path("job/job.sbatch")),
            std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.path("job").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  JobPoll p = slurm.poll(77);
  EXPECT_EQ(p.state, JobState::queued);
  EXPECT_EQ(p.reason, "Priority");
  tool("scontrol", "echo 'JobId=77 JobState=COMPLETED Reason=None RunTime=00:02:00 NumCPUs=3 ExitCode=0:0'");
  p = slurm.poll(77);
  EXPECT_EQ(p.state, JobState::succeeded);
  EXPECT_DOUBLE_EQ(p.elapsed_seconds, 120);
  EXPECT_EQ(p.cpus, 3);
  // An ended job is not asked about again.
  tool("scontrol", "exit 1");
  EXPECT_EQ(slurm.poll(77).state, JobState::succeeded);
}

TEST_F(FakeSlurm, AMissingOrRefusingSbatchIsAClearError) {
  {
    SlurmExecutor slurm(options());  // no sbatch in the directory
    auto id = slurm.start(launch());
    ASSERT_FALSE(id);
    EXPECT_NE(id.error().message.find("sbatch could not run"), std::string::npos) << id.error().message;
  }
  tool("sbatch", "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2; exit 1");
  SlurmExecutor slurm(options());
  auto id = slurm.start(launch());
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("Invalid partition name specified"), std::string::npos) << id.error().message;
  tool("sbatch", "echo 'Submitted batch job 12'");  // not --parsable's shape
  EXPECT_FALSE(slurm.start(launch()));
  tool("sbatch", "sleep 30");
  SlurmOptions quick = options();
  quick.command_timeout = 0.3;
  SlurmExecutor slow(quick);
  auto late = slow.start(launch());
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message.find("did not answer"), std::string::npos) << late.error().message;
}

TEST_F(FakeSlurm, AnUnreachableControllerKeepsTheLastStateUntilItAnswers) {
  tool("scontrol", "echo 'JobId=5 JobState=RUNNING RunTime=00:00:10 NumCPUs=2'");
  SlurmExecutor slurm(options());
  EXPECT_EQ(slurm.poll(5).state, JobState::running);
  tool("scontrol", "echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1");
  JobPoll down = slurm.poll(5);
  EXPECT_EQ(down.state, JobState::unknown);
  EXPECT_NE(down.summary.find("Unable to contact"), std::string::npos) << down.summary;
  tool("scontrol", "echo 'this is not what scontrol prints'");
  EXPECT_EQ(slurm.poll(5).state, JobState::unknown);
  tool("scontrol", "echo 'JobId=6 JobState=RUNNING'");  // about another job
  EXPECT_EQ(slurm.poll(5).state, JobState::unknown);
  tool("scontrol", "echo 'JobId=5 JobState=COMPLETED RunTime=00:00:30 NumCPUs=2'");
  EXPECT_EQ(slurm.poll(5).state, JobState::succeeded);
}

TEST_F(FakeSlurm, AForgottenJobIsLookedUpInSacct) {
  tool("scontrol", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
  tool("sacct", "case \"$1\" in -c) echo '9|FAILED|2:0|00:00:04|1|node1';; *) echo 'accounting storage is disabled' >&2; "
                "exit 1;; esac");
  SlurmExecutor slurm(options());
  JobPoll p = slurm.poll(9);
  EXPECT_EQ(p.state, JobState::failed);
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_DOUBLE_EQ(p.elapsed_seconds, 4);
  tool("sacct", "exit 0");  // no record at all
  SlurmExecutor forgetful(options());
  JobPoll gone = forgetful.poll(10);
  EXPECT_EQ(gone.state, JobState::failed);
  EXPECT_NE(gone.summary.find("no longer knows"), std::string::npos) << gone.summary;
}

TEST_F(FakeSlurm, FindsJobsByNameAndCancels) {
  tool("squeue", "echo 31; echo 35; echo junk");
  tool("scancel", "echo \"$@\" > " + dir_.path("scancel.args"));
  SlurmExecutor slurm(options());
  EXPECT_EQ(slurm.find("officina-ftjob-x"), 35);
  slurm.cancel(35, 1);
  EXPECT_EQ(test::read_file(dir_.path("scancel.args")), "35\n");
  tool("squeue", "echo 'squeue: error: Unable to contact slurm controller' >&2; exit 1");
  EXPECT_FALSE(slurm.find("officina-ftjob-x"));
  tool("squeue", "true");
  EXPECT_FALSE(slurm.find("officina-ftjob-x"));
}

}  // namespace
}  // namespace officina
