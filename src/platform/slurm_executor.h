// Fine-tuning jobs on a Slurm cluster. start() writes a batch script into
// the job's working directory (on the shared filesystem, 0700) — partition,
// QoS, account, nodes, tasks per node, CPUs per task, memory, time limit,
// GPUs, the log appended in the directory, no requeue by Slurm itself (the
// platform requeues TIMEOUTs from the last checkpoint) — and submits it with
// `sbatch --parsable`; the job runs `srun officina finetune ...`, across all
// its tasks with MPI (`--mpi=pmix` by default) when it has more than one.
// poll() asks `scontrol show job -o ID` at most every poll_interval seconds
// per job and answers the last state in between; once scontrol has
// forgotten a finished job, `sacct` (or `sacct -c`, the job-completion file,
// where accounting is off) tells how it ended. When Slurm does not answer,
// poll() says unknown and waits longer before each retry (doubling up to
// max_backoff). cancel() is scancel (Slurm's KillWait gives the grace).
// find() asks squeue for a pending or running job of that name. Jobs are
// detached: they outlive the server and are adopted again by id.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "platform/job_executor.h"

namespace officina {

struct SlurmOptions {
  std::string partition;         // required
  std::string qos;               // empty: the partition's default
  std::string bin_dir;           // where sbatch, scontrol, ... are; empty: PATH
  std::string mpi = "pmix";      // srun --mpi= for jobs of more than one task
  double poll_interval = 2;      // seconds between two queries of one job
  double max_backoff = 60;       // seconds between queries while Slurm does not answer
  double command_timeout = 30;   // a Slurm command taking longer counts as no answer
};

// The batch script for a launch (exposed for tests).
std::string slurm_batch_script(const JobLaunch& launch, const SlurmOptions& options);
// Single-quotes `arg` for bash.
std::string shell_word(const std::string& arg);

class SlurmExecutor final : public JobExecutor {
 public:
  explicit SlurmExecutor(SlurmOptions options);
  std::string_view kind() const override { return "slurm"; }
  bool detached() const override { return true; }
  bool needs_data_files() const override { return true; }
  Result<int64_t> start(const JobLaunch& launch) override;
  JobPoll poll(int64_t handle) override;
  void cancel(int64_t handle, double grace_seconds) override;
  std::optional<int64_t> find(const std::string& name) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Tracked {
    JobPoll last;
    Clock::time_point next{};
    int failures = 0;
    bool ended = false;
  };
  std::string tool(const char* name) const;
  // The job's state from scontrol, else sacct; unknown when Slurm does not answer.
  JobPoll query(int64_t id, const JobPoll& last);

  SlurmOptions options_;
  std::mutex mutex_;
  std::map<int64_t, Tracked> tracked_;
  int sacct_mode_ = 0;  // 0: not tried, 1: sacct, 2: sacct -c
};

}  // namespace officina
