// Fine-tuning jobs end to end inside one process: real uploads through the
// file service, real `officina finetune` child processes on the tiny
// conformance model, the runner driven by tick().
#include "platform/fine_tune_jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "model/model_chat_template.h"
#include "model/model_test_util.h"
#include "platform/fine_tune_request.h"
#include "platform/project_export.h"
#include "platform_test_util.h"

namespace officina {
namespace {

using nlohmann::ordered_json;

std::string chat_lines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += R"({"messages": [{"role": "user", "content": "Temperatura del forno )" + std::to_string(i) +
           R"(?"}, {"role": "assistant", "content": "Il forno )" + std::to_string(i) + R"( è a 812 gradi."}]})" "\n";
  }
  return out;
}

class FineTuneJobsTest : public testing::PlatformFixture {
 protected:
  void SetUp() override {
    if (!tiny_.available()) GTEST_SKIP() << tiny_.path << " is missing";
    PlatformFixture::SetUp();
    ASSERT_TRUE(tiny_.load());
    files_ = std::make_unique<FileService>(*platform_, tiny_.check, 1 << 20);
    options_.program = OFFICINA_BINARY;
    options_.base_model = tiny_.path;
    options_.base_name = "tiny-gqa";
    options_.context = 256;
    options_.save_every = 1;
    options_.poll_seconds = 0.05;
    make_jobs();
  }
  void TearDown() override {
    jobs_.reset();
    files_.reset();
    PlatformFixture::TearDown();
  }
  void make_jobs() {
    jobs_.reset();
    jobs_ = std::make_unique<FineTuneJobs>(*platform_, *files_, executor_, options_,
                                           [this](const AdapterRecord& a, const SecretKey&) -> Result<void> {
                                             served_.push_back(a.name);
                                             return {};
                                           });
  }

  FileRecord upload(const Principal& who, const std::string& text) {
    auto up = files_->begin_upload(who);
    EXPECT_TRUE(up) << up.error().message;
    EXPECT_TRUE((*up)->write(text));
    auto file = files_->finish_upload(who, "test", std::move(*up), "train.jsonl", "fine-tune");
    EXPECT_TRUE(file) << file.error().message;
    return *file;
  }
  Tenant funded_tenant(const std::string& name) {
    Tenant t = make_tenant(name);
    EXPECT_TRUE(platform_->create_allocation(cli_operator(), "t", t.project.id,
                                             {"playground", 10, 0, clock_, clock_ + 40 * 86400}));
    return t;
  }
  ordered_json job_body(const std::string& file, int epochs = 2) {
    return {{"model", "tiny-gqa"}, {"training_file", file}, {"hyperparameters", {{"n_epochs", epochs}, {"batch_size", 2}}}};
  }
  JobRecord wait_for(const std::string& id, std::function<bool(const JobRecord&)> done, double seconds = 60) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      jobs_->tick();
      auto job = platform_->store().get_job(id);
      if (job && *job && done(**job)) return **job;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not get there in time";
    return platform_->store().get_job(id).value().value();
  }
  std::vector<std::string> messages(const std::string& id) {
    auto events = platform_->store().list_job_events(id, "", 1000);
    std::vector<std::string> out;
    for (auto it = events->rbegin(); it != events->rend(); ++it) out.push_back(it->message);
    return out;
  }

  testing::TinyModel tiny_;
  std::unique_ptr<FileService> files_;
  LocalExecutor executor_;
  FineTuneJobsOptions options_;
  std::unique_ptr<FineTuneJobs> jobs_;
  std::vector<std::string> served_;
};

TEST_F(FineTuneJobsTest, AJobRunsToAServedAdapter) {
  auto a = funded_tenant("alpha");
  FileRecord file = upload(a.who, chat_lines(6));
  ASSERT_TRUE(jobs_->start(false));
  auto job = jobs_->create(a.who, "test", job_body(file.id));
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->status, JobStatus::queued);
  auto h = nlohmann::json::parse(job->hyperparameters);
  EXPECT_EQ(h["n_epochs"], 2);
  EXPECT_EQ(h["lora_r"], 16);  // "auto"/absent resolved and reported
  JobRecord done = wait_for(job->id, [](const JobRecord& j) { return job_finished(j.status); });
  ASSERT_EQ(done.status, JobStatus::succeeded) << done.error;
  EXPECT_EQ(done.fine_tuned_model, "ft:tiny-gqa:officina:" + job->id);
  ASSERT_EQ(served_.size(), 1u);
  EXPECT_EQ(served_[0], done.fine_tuned_model);
  EXPECT_GT(done.trained_tokens, 0);
  EXPECT_EQ(done.attempts, 1);
  const auto m = messages(job->id);
  EXPECT_EQ(m.front(), "Validating training file: " + file.id);
  EXPECT_NE(std::find(m.begin(), m.end(), "Fine-tuning job started"), m.end());
  EXPECT_TRUE(std::any_of(m.begin(), m.end(), [](const std::string& s) { return s.starts_with("Step 1: training loss="); }));
  EXPECT_EQ(m.back(), "The job has successfully completed");
  auto checkpoints = jobs_->checkpoints(a.who, job->id);
  ASSERT_TRUE(checkpoints);
  EXPECT_GE(checkpoints->size(), 2u);
  // The adapter is stored encrypted; the plaintext working copy is gone.
  auto adapter = platform_->store().get_adapter(done.fine_tuned_model);
  ASSERT_TRUE(adapter && *adapter);
  EXPECT_TRUE(std::filesystem::exists(dir_ / (*adapter)->path));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(jobs_->work_dir(done)) / "out"));
  std::ifstream sealed(dir_ / (*adapter)->path, std::ios::binary);
  std::string head(4, '\0');
  sealed.read(head.data(), 4);
  EXPECT_NE(head, "GGUF");
  // The owner exports everything: the file's plaintext, the model, the job's events.
  std::string archive;
  TarWriter tar([&](std::string_view bytes) {
    archive.append(bytes);
    return true;
  });
  ASSERT_TRUE(export_project(*platform_, *files_, a.who, "t", a.project.id, tar));
  const auto out = dir_ / "export";
  std::filesystem::create_directories(out);
  { std::ofstream(out / "p.tar", std::ios::binary) << archive; }
  ASSERT_EQ(std::system(("cd " + out.string() + " && tar -xf p.tar").c_str()), 0);
  std::ifstream exported(out / "files" / file.id / "train.jsonl");
  std::stringstream exported_text;
  exported_text << exported.rdbuf();
  EXPECT_EQ(exported_text.str(), chat_lines(6));
  std::ifstream model_file(out / "models" / (job->id + ".gguf"), std::ios::binary);
  std::string magic(4, '\0');
  model_file.read(magic.data(), 4);
  EXPECT_EQ(magic, "GGUF");
  std::ifstream jobs_json(out / "fine_tuning.json");
  auto jobs_doc = nlohmann::json::parse(jobs_json);
  ASSERT_EQ(jobs_doc.size(), 1u);
  EXPECT_EQ(jobs_doc[0]["id"], job->id);
  EXPECT_GE(jobs_doc[0]["events"].size(), 5u);
  std::ifstream audit_json(out / "audit.json");
  EXPECT_GE(nlohmann::json::parse(audit_json).size(), 3u);
  auto viewer = platform_->create_api_key(cli_operator(), "t", a.project.id, "viewer", std::nullopt);
  EXPECT_EQ(check_export(*platform_, *platform_->authenticate(viewer->second), a.project.id).error().status, 403);

  // Another project cannot see the job.
  auto b = make_tenant("beta");
  EXPECT_EQ(check_export(*platform_, b.who, a.project.id).error().status, 404);
  EXPECT_EQ(jobs_->get(b.who, job->id).error().status, 404);
  bool more = false;
  EXPECT_EQ(jobs_->events(b.who, job->id, "", 10, &more).error().status, 404);
  EXPECT_EQ(jobs_->cancel(b.who, "t", job->id).error().status, 404);
}

TEST_F(FineTuneJobsTest, BadRequestsAreRefused) {
  auto a = funded_tenant("alpha");
  auto b = funded_tenant("beta");
  FileRecord file = upload(a.who, chat_lines(3));
  FileRecord other = upload(b.who, chat_lines(3));
  struct Case {
    ordered_json body;
    int status;
    std::string param;
  };
  const std::vector<Case> cases = {
      {{{"model", "gpt-4o"}, {"training_file", file.id}}, 404, "model"},
      {{{"model", "tiny-gqa"}}, 400, "training_file"},
      {{{"model", "tiny-gqa"}, {"training_file", other.id}}, 400, "training_file"},
      {{{"model", "tiny-gqa"}, {"training_file", "file-nothing"}}, 400, "training_file"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"n_epochs", 0}}}}, 400,
       "hyperparameters.n_epochs"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"n_epochs", "many"}}}}, 400,
       "hyperparameters.n_epochs"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"learning_rate_multiplier", -1}}}},
       400, "hyperparameters.learning_rate_multiplier"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"lora_r", 100000}}}}, 400,
       "hyperparameters.lora_r"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"lora_target_modules", {"x"}}}}},
       400, "hyperparameters.lora_target_modules"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"hyperparameters", {{"temperature", 1}}}}, 400,
       "hyperparameters.temperature"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"method", {{"type", "dpo"}}}}, 400, "method.type"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"suffix", "bad suffix!"}}, 400, "suffix"},
      {{{"model", "tiny-gqa"}, {"training_file", file.id}, {"seed", -3}}, 400, "seed"},
  };
  for (const Case& c : cases) {
    auto r = jobs_->create(a.who, "t", c.body);
    ASSERT_FALSE(r) << c.body.dump();
    EXPECT_EQ(r.error().status, c.status) << c.body.dump();
    EXPECT_EQ(r.error().param, c.param) << c.body.dump() << ": " << r.error().message;
  }
  // A viewer cannot create jobs; a project without budget cannot either.
  auto viewer = platform_->create_api_key(cli_operator(), "t", a.project.id, "viewer", std::nullopt);
  auto viewer_who = platform_->authenticate(viewer->second);
  EXPECT_EQ(jobs_->create(*viewer_who, "t", job_body(file.id)).error().status, 403);
  auto poor = make_tenant("poor");
  FileRecord poor_file = upload(poor.who, chat_lines(3));
  auto refused = jobs_->create(poor.who, "t", job_body(poor_file.id));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 429);
  EXPECT_EQ(refused.error().code, "insufficient_quota");
  bool more = false;
  auto listed = jobs_->list(a.who, "", 20, &more);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(FineTuneJobsTest, ResolvesAutoHyperparameters) {
  FineTuneRequest r;
  auto h = resolve_hyperparameters(r, 10, 2048, 7);
  EXPECT_EQ(h.n_epochs, 10);
  EXPECT_EQ(h.batch_size, 4);
  EXPECT_EQ(h.seq_len, 512);
  EXPECT_DOUBLE_EQ(h.lora_alpha, 32);
  EXPECT_EQ(h.seed, 7);
  h = resolve_hyperparameters(r, 1000, 256, 7);
  EXPECT_EQ(h.n_epochs, 1);
  EXPECT_EQ(h.seq_len, 256);
  r.n_epochs = 3;
  r.learning_rate_multiplier = 2;
  h = resolve_hyperparameters(r, 2, 256, 7);
  EXPECT_EQ(h.n_epochs, 3);
  EXPECT_EQ(h.batch_size, 2);
  EXPECT_DOUBLE_EQ(h.learning_rate, 4e-4);
}

TEST_F(FineTuneJobsTest, CancelStopsARunningJob) {
  auto a = funded_tenant("alpha");
  FileRecord file = upload(a.who, chat_lines(40));
  ASSERT_TRUE(jobs_->start(false));
  auto job = jobs_->create(a.who, "t", job_body(file.id, 50));
  ASSERT_TRUE(job);
  wait_for(job->id, [](const JobRecord& j) { return j.status == JobStatus::running; });
  auto cancelled = jobs_->cancel(a.who, "t", job->id);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->status, JobStatus::cancelled);
  jobs_->tick();
  auto stored = platform_->store().get_job(job->id);
  EXPECT_EQ((*stored)->status, JobStatus::cancelled);
  EXPECT_TRUE(served_.empty());
  EXPECT_EQ(jobs_->cancel(a.who, "t", job->id).error().code, "job_already_finished");
  EXPECT_EQ(messages(job->id).back(), "Job was cancelled");
}

TEST_F(FineTuneJobsTest, DeletingTheProjectStopsItsJobs) {
  platform_->set_on_project_deleted([this](const std::string& p) { jobs_->cancel_project(p); });
  auto a = funded_tenant("alpha");
  FileRecord file = upload(a.who, chat_lines(40));
  ASSERT_TRUE(jobs_->start(false));
  auto running = jobs_->create(a.who, "t", job_body(file.id, 50));
  ASSERT_TRUE(running);
  wait_for(running->id, [](const JobRecord& j) { return j.status == JobStatus::running; });
  auto queued = jobs_->create(a.who, "t", job_body(file.id, 50));
  ASSERT_TRUE(queued);
  auto receipt = platform_->delete_project(a.who, "t", a.project.id);
  ASSERT_TRUE(receipt) << receipt.error().message;
  for (const auto& id : {running->id, queued->id}) {
    auto job = platform_->store().get_job(id);
    EXPECT_EQ((*job)->status, JobStatus::cancelled);
  }
  jobs_->tick();  // nothing of the project starts again
  EXPECT_EQ((*platform_->store().get_job(queued->id))->status, JobStatus::cancelled);
  EXPECT_FALSE(std::filesystem::exists(jobs_->work_dir(*running)));
  platform_->set_on_project_deleted(nullptr);
}

TEST_F(FineTuneJobsTest, QueueIsFairAcrossProjects) {
  options_.total_cores = 1;
  options_.max_running_per_project = 1;
  make_jobs();
  auto a = funded_tenant("alpha");
  auto b = funded_tenant("beta");
  FileRecord fa = upload(a.who, chat_lines(3));
  FileRecord fb = upload(b.who, chat_lines(3));
  ASSERT_TRUE(jobs_->start(false));
  // A queues two jobs before B queues one: B's runs second, not third.
  auto a1 = jobs_->create(a.who, "t", job_body(fa.id, 1));
  auto a2 = jobs_->create(a.who, "t", job_body(fa.id, 1));
  auto b1 = jobs_->create(b.who, "t", job_body(fb.id, 1));
  ASSERT_TRUE(a1 && a2 && b1);
  JobRecord first = wait_for(a1->id, [](const JobRecord& j) { return job_finished(j.status); });
  EXPECT_EQ(first.status, JobStatus::succeeded);
  jobs_->tick();
  auto b_job = platform_->store().get_job(b1->id);
  auto a_job = platform_->store().get_job(a2->id);
  EXPECT_NE((*b_job)->status, JobStatus::queued) << "B's job should start before A's second";
  EXPECT_EQ((*a_job)->status, JobStatus::queued);
  wait_for(a2->id, [](const JobRecord& j) { return job_finished(j.status); });
}

TEST_F(FineTuneJobsTest, AJobResumesAfterTheServerStops) {
  auto a = funded_tenant("alpha");
  FileRecord file = upload(a.who, chat_lines(12));
  ASSERT_TRUE(jobs_->start(false));
  auto job = jobs_->create(a.who, "t", job_body(file.id, 6));
  ASSERT_TRUE(job);
  // Wait for a checkpoint, then stop everything as a shutdown would.
  wait_for(job->id, [&](const JobRecord&) {
    auto c = platform_->store().list_checkpoints(job->id);
    return c && c->size() >= 2;
  });
  jobs_->stop();
  auto stopped = platform_->store().get_job(job->id);
  ASSERT_EQ((*stopped)->status, JobStatus::running) << (*stopped)->error;
  make_jobs();  // "the restarted server"
  ASSERT_TRUE(jobs_->start(false));
  JobRecord done = wait_for(job->id, [](const JobRecord& j) { return job_finished(j.status); }, 120);
  ASSERT_EQ(done.status, JobStatus::succeeded) << done.error;
  EXPECT_EQ(done.attempts, 2);
  const auto m = messages(job->id);
  EXPECT_TRUE(std::any_of(m.begin(), m.end(), [](const std::string& s) {
    return s.starts_with("The server restarted while the job ran; it resumes from its checkpoint");
  }));
  EXPECT_TRUE(std::any_of(m.begin(), m.end(), [](const std::string& s) { return s.starts_with("Fine-tuning job resumed from step"); }));
}

TEST_F(FineTuneJobsTest, AFailingTrainerFailsTheJobWithItsReason) {
  options_.base_model = (dir_ / "no-such-model.gguf").string();
  make_jobs();
  auto a = funded_tenant("alpha");
  FileRecord file = upload(a.who, chat_lines(3));
  ASSERT_TRUE(jobs_->start(false));
  auto job = jobs_->create(a.who, "t", job_body(file.id));
  ASSERT_TRUE(job);
  JobRecord done = wait_for(job->id, [](const JobRecord& j) { return job_finished(j.status); });
  EXPECT_EQ(done.status, JobStatus::failed);
  auto error = nlohmann::json::parse(done.error);
  EXPECT_EQ(error["code"], "training_failed");
  EXPECT_NE(error["message"].get<std::string>().find("no-such-model.gguf"), std::string::npos) << done.error;
}

TEST_F(FineTuneJobsTest, AJobIsStoppedWhenTheBudgetRunsOut) {
  auto a = make_tenant("alpha");
  ASSERT_TRUE(platform_->create_allocation(cli_operator(), "t", a.project.id,
                                           {"playground", 0.9, 0, clock_, clock_ + 40 * 86400}));
  FileRecord file = upload(a.who, chat_lines(40));
  ASSERT_TRUE(jobs_->start(false));
  auto job = jobs_->create(a.who, "t", job_body(file.id, 50));
  ASSERT_TRUE(job) << job.error().message;
  wait_for(job->id, [](const JobRecord& j) { return j.status == JobStatus::running; });
  clock_ += 3600;  // an hour on one core: more than the 0.9 core-hours granted
  JobRecord done = wait_for(job->id, [](const JobRecord& j) { return job_finished(j.status); });
  EXPECT_EQ(done.status, JobStatus::failed) << done.error;
  EXPECT_NE(done.error.find("insufficient_quota"), std::string::npos) << done.error;
  EXPECT_NEAR(done.charged_core_hours, 1.0, 0.01);
  auto usage = platform_->usage(a.who, a.project.id);
  ASSERT_TRUE(usage);
  EXPECT_NEAR(usage->allocations[0].used_core_hours, 1.0, 0.01);
}

}  // namespace
}  // namespace officina
