// Where fine-tuning jobs run. The executor interface is the plug point for
// schedulers: the local executor runs each job as a child process of the
// server in its own process group, with a CPU count (the trainer's threads
// and an affinity mask) and an address-space limit, its output kept in a log
// file; the Slurm executor (slurm_executor.h) submits the same command with
// sbatch, and its jobs outlive the server (detached()): after a restart they
// are found again by their handle or their name, never started twice.
// Thread-safety: an executor's methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace officina {

// What a scheduler allocates to one job (the local executor uses
// cpus_per_task and memory_mb only).
struct JobResources {
  int nodes = 1;
  int tasks_per_node = 1;        // more than one task in all: MPI data parallel
  int cpus_per_task = 1;         // the trainer's threads per task
  int64_t memory_mb = 0;         // per node; 0: the scheduler's default / no limit
  int64_t time_limit_minutes = 0;  // 0: the partition's limit
  int gpus_per_node = 0;
  int tasks() const { return nodes * tasks_per_node; }
  int cpus() const { return tasks() * cpus_per_task; }
};

struct JobLaunch {
  std::vector<std::string> argv;  // argv[0] is the program (an absolute path)
  std::string log_path;           // stdout and stderr go here (appended)
  int cores = 1;
  int64_t memory_mb = 0;          // 0: no limit
  std::vector<int> keep_fds;      // descriptors the child inherits (memfds of decrypted data)
  // For schedulers: a name unique to the job (to find it again after a
  // crash), its working directory, the account it is charged to.
  std::string name;
  std::string work_dir;
  std::string account;
  JobResources resources;
};

// queued: waiting in the scheduler (reason says why); timeout: it hit its
// time limit; unknown: the scheduler did not answer (the job keeps its last
// known state and the next poll tries again).
enum class JobState { running, succeeded, failed, queued, cancelled, timeout, unknown };

struct JobPoll {
  JobState state = JobState::running;
  int exit_code = 0;     // when it exited
  int signal = 0;        // when a signal ended it
  std::string summary;   // "exit code 1", "killed by signal 9", "OUT_OF_MEMORY"
  std::string reason;    // the scheduler's reason (pending or failure), if any
  std::string node;      // where it runs, if known
  double elapsed_seconds = -1;  // the scheduler's elapsed time (-1: not reported)
  int cpus = 0;                 // CPUs allocated (0: not reported)
  int gpus = 0;
};

class JobExecutor {
 public:
  virtual ~JobExecutor() = default;
  virtual std::string_view kind() const = 0;  // "local", "slurm"
  // Jobs outlive the server: stop() leaves them running, a restart adopts
  // them by handle, and usage comes from the scheduler's own accounting.
  virtual bool detached() const { return false; }
  // The job cannot inherit memory files: its data must be written into its
  // working directory (for the duration of the job).
  virtual bool needs_data_files() const { return false; }
  // A job started under `name` that the scheduler still knows, if any.
  virtual std::optional<int64_t> find(const std::string& name) {
    (void)name;
    return std::nullopt;
  }
  // Starts the job; returns its handle (a pid for the local executor).
  virtual Result<int64_t> start(const JobLaunch& launch) = 0;
  // Whether it still runs; reaps it once it ended (then polls repeat the result).
  virtual JobPoll poll(int64_t handle) = 0;
  // Asks it to stop (SIGTERM to its process group, SIGKILL after grace_seconds).
  virtual void cancel(int64_t handle, double grace_seconds) = 0;
};

class LocalExecutor final : public JobExecutor {
 public:
  std::string_view kind() const override { return "local"; }
  Result<int64_t> start(const JobLaunch& launch) override;
  JobPoll poll(int64_t handle) override;
  void cancel(int64_t handle, double grace_seconds) override;
};

}  // namespace officina
