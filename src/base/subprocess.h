// Runs a program (no shell) and collects what it prints, with a time limit:
// for the command-line tools of other systems (Slurm's sbatch, squeue,
// scontrol, scancel, sacct). stdin is /dev/null; stdout and stderr are read
// separately, each up to `max_output` bytes (the rest is dropped); a program
// still running at the deadline is killed (SIGKILL to its process group).
// Thread-safety: run_program may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace officina {

struct ProgramOutput {
  int exit_code = -1;   // -1 when a signal ended it
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
};

// An error only when it could not be started (argv[0] missing or not
// executable, fork failed); a program that ran and failed is an output with
// its exit code. argv[0] without a slash is looked up in PATH.
Result<ProgramOutput> run_program(const std::vector<std::string>& argv, double timeout_seconds,
                                  size_t max_output = size_t{1} << 20);

}  // namespace officina
