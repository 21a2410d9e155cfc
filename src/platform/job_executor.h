// Where fine-tuning jobs run. The executor interface is the plug point for
// schedulers of other kinds (a Slurm executor submits the same command with
// sbatch); the local executor runs each job as a child process of the server
// in its own process group, with a CPU count (the trainer's threads and an
// affinity mask) and an address-space limit, its output kept in a log file.
// Thread-safety: an executor's methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace officina {

struct JobLaunch {
  std::vector<std::string> argv;  // argv[0] is the program (an absolute path)
  std::string log_path;           // stdout and stderr go here (appended)
  int cores = 1;
  int64_t memory_mb = 0;          // 0: no limit
  std::vector<int> keep_fds;      // descriptors the child inherits (memfds of decrypted data)
};

enum class JobState { running, succeeded, failed };

struct JobPoll {
  JobState state = JobState::running;
  int exit_code = 0;     // when it exited
  int signal = 0;        // when a signal ended it
  std::string summary;   // "exit code 1", "killed by signal 9"
};

class JobExecutor {
 public:
  virtual ~JobExecutor() = default;
  // Starts the job; returns its handle (a pid for the local executor).
  virtual Result<int64_t> start(const JobLaunch& launch) = 0;
  // Whether it still runs; reaps it once it ended (then polls repeat the result).
  virtual JobPoll poll(int64_t handle) = 0;
  // Asks it to stop (SIGTERM to its process group, SIGKILL after grace_seconds).
  virtual void cancel(int64_t handle, double grace_seconds) = 0;
};

class LocalExecutor final : public JobExecutor {
 public:
  Result<int64_t> start(const JobLaunch& launch) override;
  JobPoll poll(int64_t handle) override;
  void cancel(int64_t handle, double grace_seconds) override;
};

}  // namespace officina
