// FineTuneJobs over a scheduler whose jobs outlive the server (what the
// Slurm executor is), with a scripted stand-in executor: pending reasons,
// the start, TIMEOUT requeues from the checkpoint, adoption after a restart
// (by id, or by name when the id was never recorded), a scheduler that does
// not answer, a cancellation from outside, usage from the scheduler's own
// elapsed time x CPUs, and the job's data written for it and removed after.
// platform_slurm.test.mjs does the same against a real Slurm.
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>

#include "platform/fine_tune_jobs.h"
#include "platform_test_util.h"

namespace officina {
namespace {

using nlohmann::ordered_json;
namespace fs = std::filesystem;

class ScriptedScheduler final : public JobExecutor {
 public:
  struct Submitted {
    JobLaunch launch;
    std::deque<JobPoll> script;  // answers to come; the last one repeats
    bool cancelled = false;
  };
  std::string_view kind() const override { return "fake"; }
  bool detached() const override { return true; }
  bool needs_data_files() const override { return true; }
  Result<int64_t> start(const JobLaunch& launch) override {
    if (refuse) return fail("the scheduler refuses: {}", *refuse);
    const int64_t id = next_id++;
    jobs[id].launch = launch;
    jobs[id].script = next_script;
    // The stand-in "trains" at once: an adapter where the trainer would write it.
    fs::create_directories(launch.work_dir + "/out");
    std::ofstream(launch.work_dir + "/out/adapter.gguf") << "adapter bytes";
    data_seen = fs::exists(launch.work_dir + "/data/train.jsonl");
    return id;
  }
  JobPoll poll(int64_t handle) override {
    auto it = jobs.find(handle);
    if (it == jobs.end()) return state(JobState::failed, "no such job");
    auto& s = it->second.script;
    if (s.empty()) return state(JobState::unknown, "");
    JobPoll p = s.front();
    if (s.size() > 1) s.pop_front();
    return p;
  }
  void cancel(int64_t handle, double) override {
    jobs[handle].cancelled = true;
    jobs[handle].script = {state(JobState::cancelled, "CANCELLED", 30, 2)};
  }
  std::optional<int64_t> find(const std::string& name) override {
    for (auto& [id, j] : jobs) {
      if (j.launch.name == name && !j.cancelled) return id;
    }
    return std::nullopt;
  }

  static JobPoll state(JobState s, std::string summary, double elapsed = -1, int cpus = 0, std::string reason = "",
                       int gpus = 0) {
    JobPoll p;
    p.state = s;
    p.summary = std::move(summary);
    p.elapsed_seconds = elapsed;
    p.cpus = cpus;
    p.gpus = gpus;
    p.reason = std::move(reason);
    p.node = s == JobState::running ? "node07" : "";
    return p;
  }

  std::map<int64_t, Submitted> jobs;
  std::deque<JobPoll> next_script;
  std::optional<std::string> refuse;
  int64_t next_id = 100;
  bool data_seen = false;
};

using S = ScriptedScheduler;

class ScheduledJobsTest : public testing::PlatformFixture {
 protected:
  void SetUp() override {
    if (!tiny_.available()) GTEST_SKIP() << tiny_.path << " is missing";
    PlatformFixture::SetUp();
    ASSERT_TRUE(tiny_.load());
    files_ = std::make_unique<FileService>(*platform_, tiny_.check, 1 << 20);
    options_.program = "/opt/officina/bin/officina";
    options_.base_model = tiny_.path;
    options_.base_name = "tiny-gqa";
    options_.context = 256;
    options_.cores_per_job = 2;
    options_.total_cores = 1 << 20;
    options_.max_requeues = 2;
    options_.account_prefix = "ofc_";
    options_.jobs_dir = (dir_ / "shared").string();
    make_jobs();
    tenant_ = make_tenant("acme");
    ASSERT_TRUE(platform_->create_allocation(cli_operator(), "t", tenant_.project.id,
                                             {"playground", 10, 1, clock_, clock_ + 40 * 86400}));
    auto up = files_->begin_upload(tenant_.who);
    ASSERT_TRUE(up);
    ASSERT_TRUE((*up)->write(R"({"messages": [{"role": "user", "content": "Forno?"}, {"role": "assistant", "content": "812 gradi."}]})" "\n"));
    auto file = files_->finish_upload(tenant_.who, "test", std::move(*up), "train.jsonl", "fine-tune");
    ASSERT_TRUE(file) << file.error().message;
    file_ = file->id;
  }
  void TearDown() override {
    jobs_.reset();
    files_.reset();
    PlatformFixture::TearDown();
  }
  void make_jobs() {
    jobs_.reset();
    jobs_ = std::make_unique<FineTuneJobs>(*platform_, *files_, scheduler_, options_,
                                           [this](const AdapterRecord& a, const SecretKey&) -> Result<void> {
                                             served_.push_back(a.name);
                                             return {};
                                           });
  }
  JobRecord create(ordered_json resources = nullptr) {
    ordered_json body{{"model", "tiny-gqa"}, {"training_file", file_}};
    if (!resources.is_null()) body["resources"] = resources;
    auto job = jobs_->create(tenant_.who, "test", body);
    EXPECT_TRUE(job) << job.error().message;
    return *job;
  }
  JobRecord stored(const std::string& id) { return platform_->store().get_job(id).value().value(); }
  std::vector<std::string> messages(const std::string& id) {
    auto events = platform_->store().list_job_events(id, "", 1000);
    std::vector<std::string> out;
    for (auto it = events->rbegin(); it != events->rend(); ++it) out.push_back(it->message);
    return out;
  }
  static bool has(const std::vector<std::string>& list, const std::string& text) {
    return std::find(list.begin(), list.end(), text) != list.end();
  }

  testing::TinyModel tiny_;
  std::unique_ptr<FileService> files_;
  ScriptedScheduler scheduler_;
  FineTuneJobsOptions options_;
  std::unique_ptr<FineTuneJobs> jobs_;
  std::vector<std::string> served_;
  Tenant tenant_;
  std::string file_;
};

TEST_F(ScheduledJobsTest, PendingRunningSucceededAndChargedBySchedulerAccounting) {
  scheduler_.next_script = {S::state(JobState::queued, "PENDING", 0, 2, "Priority"),
                            S::state(JobState::queued, "PENDING", 0, 2, "Resources"),
                            S::state(JobState::running, "RUNNING", 60, 4),
                            S::state(JobState::succeeded, "COMPLETED", 7200, 4, "", 1)};
  JobRecord job = create({{"tasks_per_node", 2}});
  jobs_->tick();  // submitted
  ASSERT_EQ(scheduler_.jobs.size(), 1u);
  const auto& launch = scheduler_.jobs.begin()->second.launch;
  EXPECT_EQ(launch.name, "officina-" + job.id);
  EXPECT_EQ(launch.account, "ofc_" + tenant_.project.id);
  EXPECT_EQ(launch.resources.tasks_per_node, 2);
  EXPECT_EQ(launch.resources.cpus_per_task, 2);
  EXPECT_EQ(launch.resources.time_limit_minutes, 60);
  EXPECT_EQ(launch.work_dir, (dir_ / "shared" / tenant_.project.id / job.id).string());
  EXPECT_TRUE(scheduler_.data_seen) << "the job's data was not written for it";
  EXPECT_TRUE(launch.keep_fds.empty());
  const auto data_arg = std::find(launch.argv.begin(), launch.argv.end(), "--data");
  ASSERT_NE(data_arg, launch.argv.end());
  EXPECT_EQ(*(data_arg + 1), launch.work_dir + "/data/train.jsonl");
  EXPECT_EQ(stored(job.id).status, JobStatus::queued);
  EXPECT_EQ(stored(job.id).executor_ref, "fake:100");
  jobs_->tick();  // pending: Priority
  jobs_->tick();  // pending: Resources
  EXPECT_EQ(stored(job.id).status, JobStatus::queued);
  jobs_->tick();  // running
  EXPECT_EQ(stored(job.id).status, JobStatus::running);
  jobs_->tick();  // completed
  job = stored(job.id);
  EXPECT_EQ(job.status, JobStatus::succeeded);
  EXPECT_EQ(served_.size(), 1u);
  EXPECT_DOUBLE_EQ(job.charged_core_hours, 8.0);  // 7200 s x 4 CPUs
  EXPECT_DOUBLE_EQ(job.charged_gpu_hours, 2.0);
  EXPECT_EQ(job.executor_ref, "fake:100");
  EXPECT_FALSE(fs::exists(launch.work_dir + "/data")) << "decrypted data outlived the job";
  const auto m = messages(job.id);
  EXPECT_TRUE(has(m, "Submitted to fake as job 100: 1 node(s) x 2 task(s) x 2 CPU(s), 60 min, account ofc_" +
                         tenant_.project.id)) << ::testing::PrintToString(m);
  EXPECT_TRUE(has(m, "fake job 100 is pending (reason: Priority)"));
  EXPECT_TRUE(has(m, "fake job 100 is pending (reason: Resources)"));
  EXPECT_TRUE(has(m, "fake job 100 is running on node07"));
  auto usage = platform_->usage(cli_operator(), tenant_.project.id);
  ASSERT_TRUE(usage);
  EXPECT_DOUBLE_EQ(usage->allocations[0].used_core_hours, 8.0);
}

TEST_F(ScheduledJobsTest, TimeoutsAreRequeuedUpToTheLimitThenFail) {
  scheduler_.next_script = {S::state(JobState::running, "RUNNING", 10, 2),
                            S::state(JobState::timeout, "TIMEOUT", 60, 2)};
  JobRecord job = create();
  for (int i = 0; i < 12 && !job_finished(stored(job.id).status); ++i) jobs_->tick();
  job = stored(job.id);
  EXPECT_EQ(job.status, JobStatus::failed);
  EXPECT_EQ(job.requeues, 2);
  EXPECT_EQ(scheduler_.jobs.size(), 3u);  // the first attempt and two requeues
  EXPECT_NE(job.error.find("time_limit"), std::string::npos) << job.error;
  EXPECT_NEAR(job.charged_core_hours, 3 * 60 * 2 / 3600.0, 1e-12);
  const auto m = messages(job.id);
  EXPECT_TRUE(has(m, "fake job 100 reached its time limit (TIMEOUT); requeued (1 of 2), starting again"))
      << ::testing::PrintToString(m);
  EXPECT_TRUE(has(m, "fake job 101 reached its time limit (TIMEOUT); requeued (2 of 2), starting again"));
}

TEST_F(ScheduledJobsTest, ARequeuedJobResumesFromItsCheckpoint) {
  scheduler_.next_script = {S::state(JobState::timeout, "TIMEOUT", 60, 2)};
  JobRecord job = create();
  jobs_->tick();  // submitted
  const std::string out = scheduler_.jobs.at(100).launch.work_dir + "/out";
  fs::create_directories(out + "/checkpoint");
  std::ofstream(out + "/checkpoint/state.json") << R"({"step": 7})";
  scheduler_.next_script = {S::state(JobState::succeeded, "COMPLETED", 30, 2)};
  jobs_->tick();  // TIMEOUT: requeued, and submitted again in the same tick, with --resume
  EXPECT_EQ(stored(job.id).status, JobStatus::queued);
  EXPECT_EQ(stored(job.id).executor_ref, "fake:101");
  ASSERT_EQ(scheduler_.jobs.size(), 2u);
  const auto& argv = scheduler_.jobs.at(101).launch.argv;
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--resume"), argv.end());
  jobs_->tick();
  EXPECT_EQ(stored(job.id).status, JobStatus::succeeded);
  const auto m = messages(job.id);
  EXPECT_TRUE(has(m, "fake job 100 reached its time limit (TIMEOUT); requeued (1 of 2), resuming from its checkpoint at step 7"))
      << ::testing::PrintToString(m);
}

TEST_F(ScheduledJobsTest, ARestartedServerAdoptsItsJobsWithoutSubmittingAgain) {
  scheduler_.next_script = {S::state(JobState::running, "RUNNING", 10, 2)};
  JobRecord job = create();
  jobs_->tick();
  jobs_->tick();
  EXPECT_EQ(stored(job.id).status, JobStatus::running);
  jobs_->stop();  // the server goes away: the job must keep running
  EXPECT_FALSE(scheduler_.jobs.at(100).cancelled);
  make_jobs();
  ASSERT_TRUE(jobs_->start(false));
  EXPECT_EQ(scheduler_.jobs.size(), 1u);
  scheduler_.jobs.at(100).script = {S::state(JobState::succeeded, "COMPLETED", 100, 2)};
  jobs_->tick();
  job = stored(job.id);
  EXPECT_EQ(job.status, JobStatus::succeeded);
  EXPECT_EQ(scheduler_.jobs.size(), 1u) << "submitted twice";
  const auto m = messages(job.id);
  EXPECT_TRUE(has(m, "The server restarted; it follows fake job 100 again")) << ::testing::PrintToString(m);
  EXPECT_EQ(std::count_if(m.begin(), m.end(), [](const std::string& s) { return s.starts_with("Submitted"); }), 1);
}

TEST_F(ScheduledJobsTest, AJobSubmittedButNeverRecordedIsFoundByName) {
  scheduler_.next_script = {S::state(JobState::queued, "PENDING", 0, 2, "Priority")};
  JobRecord job = create();
  jobs_->tick();
  // The server died between sbatch and recording the id.
  JobRecord lost = stored(job.id);
  lost.executor_ref.clear();
  ASSERT_TRUE(platform_->store().update_job(lost));
  jobs_->stop();
  make_jobs();
  ASSERT_TRUE(jobs_->start(false));
  EXPECT_EQ(stored(job.id).executor_ref, "fake:100");
  jobs_->tick();
  EXPECT_EQ(scheduler_.jobs.size(), 1u) << "submitted twice";
}

TEST_F(ScheduledJobsTest, ASilentSchedulerLeavesTheStateAloneUntilItAnswers) {
  scheduler_.next_script = {S::state(JobState::running, "RUNNING", 10, 2)};
  JobRecord job = create();
  jobs_->tick();
  jobs_->tick();
  scheduler_.jobs.at(100).script = {S::state(JobState::unknown, "scontrol: Unable to contact slurm controller")};
  for (int i = 0; i < 5; ++i) jobs_->tick();
  EXPECT_EQ(stored(job.id).status, JobStatus::running);
  scheduler_.jobs.at(100).script = {S::state(JobState::succeeded, "COMPLETED", 100, 2)};
  jobs_->tick();
  EXPECT_EQ(stored(job.id).status, JobStatus::succeeded);
  const auto m = messages(job.id);
  EXPECT_EQ(std::count_if(m.begin(), m.end(), [](const std::string& s) { return s.starts_with("fake does not answer"); }),
            1) << ::testing::PrintToString(m);
  EXPECT_TRUE(has(m, "fake answers again"));
}

TEST_F(ScheduledJobsTest, CancelsFromOutsideAndThroughTheApiAndRefusals) {
  scheduler_.next_script = {S::state(JobState::running, "RUNNING", 10, 2)};
  JobRecord job = create();
  jobs_->tick();
  scheduler_.jobs.at(100).script = {S::state(JobState::cancelled, "CANCELLED", 20, 2)};
  jobs_->tick();
  job = stored(job.id);
  EXPECT_EQ(job.status, JobStatus::cancelled);
  EXPECT_TRUE(has(messages(job.id), "fake cancelled job 100 (not through officina)"));
  EXPECT_FALSE(fs::exists(scheduler_.jobs.at(100).launch.work_dir + "/data"));

  scheduler_.next_script = {S::state(JobState::running, "RUNNING", 10, 2)};
  JobRecord second = create();
  jobs_->tick();
  auto cancelled = jobs_->cancel(tenant_.who, "test", second.id);
  ASSERT_TRUE(cancelled);
  EXPECT_TRUE(scheduler_.jobs.at(101).cancelled);
  EXPECT_EQ(stored(second.id).status, JobStatus::cancelled);

  // A scheduler that refuses: the job fails with its reason.
  scheduler_.refuse = "Invalid partition name specified";
  JobRecord third = create();
  jobs_->tick();
  third = stored(third.id);
  EXPECT_EQ(third.status, JobStatus::failed);
  EXPECT_NE(third.error.find("Invalid partition name specified"), std::string::npos) << third.error;

  // The tier bounds what a job may ask for.
  auto too_many = jobs_->create(tenant_.who, "test",
                                {{"model", "tiny-gqa"}, {"training_file", file_}, {"resources", {{"tasks_per_node", 3}}}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().param, "resources.tasks_per_node");
  auto too_long = jobs_->create(tenant_.who, "test", {{"model", "tiny-gqa"}, {"training_file", file_},
                                                      {"resources", {{"time_limit_minutes", 121}}}});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().param, "resources.time_limit_minutes");
  auto unknown = jobs_->create(tenant_.who, "test",
                               {{"model", "tiny-gqa"}, {"training_file", file_}, {"resources", {{"cores", 3}}}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().param, "resources.cores");
  auto wrong = jobs_->create(tenant_.who, "test",
                             {{"model", "tiny-gqa"}, {"training_file", file_}, {"resources", {{"nodes", "two"}}}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().status, 400);
}

TEST_F(ScheduledJobsTest, ALocalInstanceRefusesMoreThanOneTask) {
  LocalExecutor local;
  FineTuneJobs jobs(*platform_, *files_, local, options_, nullptr);
  auto refused = jobs.create(tenant_.who, "test",
                             {{"model", "tiny-gqa"}, {"training_file", file_}, {"resources", {{"tasks_per_node", 2}}}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "resources_unavailable");
}

}  // namespace
}  // namespace officina
