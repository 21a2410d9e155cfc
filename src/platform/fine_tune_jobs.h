// Fine-tuning jobs of the platform (OpenAI's /v1/fine_tuning/jobs): a job
// is checked and queued at once (validating_files -> queued), started by the
// runner when cores are free — fair share: the project with the fewest running
// jobs goes first, then the one that started fewest jobs since the server
// started, then the oldest job; each project at most max_running_per_project
// at once — as
// `officina finetune` through a JobExecutor, with the training data decrypted
// into memory files only. Its metrics lines become events and checkpoints as
// they are written; on success the adapter is encrypted into the data
// directory, recorded, and handed to on_adapter (the server serves it at once
// as fine_tuned_model). Jobs are charged cores x elapsed time to the
// project's allocation and stopped when it runs out. After a restart (or a
// crash) running jobs resume from their last checkpoint, up to max_attempts.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <optional>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/file_service.h"
#include "platform/job_executor.h"
#include "platform/platform.h"

namespace officina {

struct FineTuneJobsOptions {
  std::string program;     // the officina executable the jobs run
  std::string base_model;  // path of the served base model
  std::string base_name;   // its name in the API (the only model jobs may name)
  int64_t context = 512;   // the base's context: the longest seq_len
  int total_cores = 1;     // cores all running jobs together may hold
  int cores_per_job = 1;
  int max_running_per_project = 1;
  int64_t memory_mb = 0;  // address-space limit per job (0: none)
  int64_t save_every = 5;
  int max_attempts = 3;
  double poll_seconds = 0.25;
  double tokens_per_core_second = 50;  // for the budget estimate at submission
  // Job directories (default DATA/jobs); under Slurm a shared filesystem.
  std::string jobs_dir;
  // Under a scheduler: the time limit of a job that asks for none, how often
  // a job that hits its limit is requeued, and the account of a project
  // (account_prefix + project id; empty prefix: no --account).
  int64_t time_limit_minutes = 60;
  int max_requeues = 3;
  std::string account_prefix;
};

// What a job may ask of a scheduler, by its project's tier.
struct JobTierLimits {
  int max_nodes, max_tasks;
  int64_t max_time_limit_minutes;
  int max_gpus_per_node;
};
JobTierLimits job_tier_limits(AccessTier tier);
// The Slurm account of a project: prefix + project id, lower case, characters
// other than [a-z0-9_-] as '_'.
std::string slurm_account(const std::string& prefix, const std::string& project_id);

class FineTuneJobs {
 public:
  // Makes the adapter servable: called once per adapter (at success and for
  // each stored adapter at start) with its key.
  using AdapterReady = std::function<Result<void>(const AdapterRecord& adapter, const SecretKey& key)>;

  FineTuneJobs(Platform& platform, FileService& files, JobExecutor& executor, FineTuneJobsOptions options,
               AdapterReady on_adapter);
  ~FineTuneJobs();

  // Recovers jobs a restart interrupted, serves the stored adapters, starts
  // the runner thread (with run_thread) — tests call tick() themselves.
  Result<void> start(bool run_thread = true);
  // Stops the runner and the running jobs; they stay "running" in the store
  // and resume at the next start().
  void stop();
  // One round: progress of running jobs, ended ones finished, queued ones started.
  void tick();

  ApiResult<JobRecord> create(const Principal& who, const std::string& origin, const nlohmann::ordered_json& body);
  ApiResult<std::vector<JobRecord>> list(const Principal& who, const std::string& after, int64_t limit,
                                         bool* has_more);
  ApiResult<JobRecord> get(const Principal& who, const std::string& id);
  ApiResult<JobRecord> cancel(const Principal& who, const std::string& origin, const std::string& id);
  ApiResult<std::vector<JobEvent>> events(const Principal& who, const std::string& id, const std::string& after,
                                          int64_t limit, bool* has_more);
  ApiResult<std::vector<JobCheckpoint>> checkpoints(const Principal& who, const std::string& id);
  // Cancels every queued and running job of a project (it is being deleted).
  void cancel_project(const std::string& project_id);

  // Where a job works (its checkpoint, metrics and log): DATA/jobs/PROJECT/JOB.
  std::string work_dir(const JobRecord& job) const;

 private:
  struct Running {
    int64_t handle = 0;
    int64_t attempt_started = 0;  // unix seconds
    size_t metrics_offset = 0;
    std::string partial;  // an unfinished metrics line
    int cores = 1;
    int64_t last_step = 0;  // metrics lines up to this step were already turned into events
    JobPoll last;           // the executor's last answer
    bool unanswered = false;  // the scheduler did not answer the last poll (noted once)
  };
  Result<void> event(const std::string& job_id, const std::string& message, const std::string& level = "info",
                     const std::string& type = "message", const std::string& data = "");
  Result<void> launch(JobRecord job);
  void read_progress(JobRecord& job, Running& run);
  void finish(JobRecord job, Running run, const JobPoll& poll);
  double charge(JobRecord& job, int64_t started, int64_t ended, int cores);
  // Charges an attempt that ended (or is abandoned): the scheduler's elapsed
  // time x CPUs (and GPUs) where it reports them, else wall time x cores.
  void charge_attempt(JobRecord& job, const Running& run);
  // Follows a scheduler's job: pending reasons, start, requeue after TIMEOUT.
  // True when the job is still in the executor's hands.
  bool follow(JobRecord& job, Running& run, const JobPoll& poll);
  void requeue(JobRecord job, Running run, const JobPoll& poll);
  void drop_job_data(const JobRecord& job);
  int64_t last_metrics_step(const std::string& job_id);
  std::string executor_ref(int64_t handle) const;
  std::optional<int64_t> parse_executor_ref(const std::string& ref) const;
  Result<void> recover();
  void runner();

  Platform& platform_;
  FileService& files_;
  JobExecutor& executor_;
  FineTuneJobsOptions options_;
  AdapterReady on_adapter_;
  std::recursive_mutex mutex_;  // the runner and the API change jobs under it
  std::map<std::string, Running> running_;
  std::map<std::string, int64_t> started_;  // jobs started per project (fair share)
  std::thread thread_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace officina
