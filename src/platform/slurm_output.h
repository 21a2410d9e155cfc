// What Slurm's commands print, read into job states: `sbatch --parsable`
// ("123" or "123;cluster"), one line of `scontrol show job -o ID`
// (Key=Value pairs), and `sacct -n -P -o JobID,State,ExitCode,Elapsed,NCPUS,
// NodeList` (the fallback once scontrol has forgotten a finished job; with
// accounting off, `sacct -c` reads the job-completion file in the same
// shape). Each parser answers an error naming what it could not read, never
// a crash, whatever the text.
//
// Slurm states map onto a JobPoll: PENDING, CONFIGURING, REQUEUED,
// REQUEUE_HOLD, REQUEUE_FED, RESV_DEL_HOLD, SUSPENDED, STOPPED -> queued
// (reason: Slurm's); RUNNING, COMPLETING, STAGE_OUT, SIGNALING, RESIZING ->
// running; COMPLETED -> succeeded; FAILED, OUT_OF_MEMORY, NODE_FAIL,
// BOOT_FAIL, DEADLINE, PREEMPTED, SPECIAL_EXIT, REVOKED -> failed (summary:
// the state, with the exit code or signal); CANCELLED -> cancelled;
// TIMEOUT -> timeout; any other word -> unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "platform/job_executor.h"

namespace officina {

struct SlurmJobInfo {
  int64_t id = 0;
  std::string state;   // the base state: "RUNNING", "CANCELLED" (without " by UID")
  std::string reason;  // "None" is dropped
  std::string node;
  double elapsed_seconds = -1;
  int cpus = 0;
  int gpus = 0;
  int exit_code = 0;
  int signal = 0;
};

Result<int64_t> parse_sbatch_output(std::string_view out);
// "[D-]HH:MM:SS", "MM:SS", "MM:SS.mmm", "UNLIMITED"/"INVALID" -> error.
Result<double> parse_slurm_duration(std::string_view text);
// The value of `key` in a `scontrol show job -o` line (values run to the next
// " Key=" where Key is a word of letters, digits, ':', '/', '_' or '-').
std::optional<std::string> scontrol_value(std::string_view line, std::string_view key);
Result<SlurmJobInfo> parse_scontrol_job(std::string_view line);
// The row of job `id` (not its steps) among sacct's lines.
Result<SlurmJobInfo> parse_sacct_job(std::string_view out, int64_t id);
JobPoll slurm_job_poll(const SlurmJobInfo& info);

}  // namespace officina
