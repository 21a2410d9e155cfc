// libFuzzer target: arbitrary bytes as what Slurm's commands printed
// (sbatch --parsable, scontrol show job -o, sacct -P rows, durations). The
// executor reads these from programs it does not control: each parser
// answers a value or an error, never a crash, and what it answers is sane.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "platform/slurm_output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto id = officina::parse_sbatch_output(text); id && *id <= 0) std::abort();
  if (auto d = officina::parse_slurm_duration(text); d && !(*d >= 0)) std::abort();
  (void)officina::scontrol_value(text, "JobState");
  auto job = officina::parse_scontrol_job(text);
  if (job) {
    if (job->id <= 0 || job->state.empty()) std::abort();
    const officina::JobPoll poll = officina::slurm_job_poll(*job);
    if (poll.cpus < 0 || poll.gpus < 0) std::abort();
  } else if (job.error().message.empty()) {
    std::abort();
  }
  const int64_t wanted = size > 0 ? 1 + data[0] % 200 : 1;
  if (auto row = officina::parse_sacct_job(text, wanted); row) {
    if (row->id != wanted) std::abort();
    (void)officina::slurm_job_poll(*row);
  }
  return 0;
}
