#include "platform/slurm_executor.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/subprocess.h"
#include "platform/slurm_output.h"

namespace officina {
namespace {

// The last non-empty line of a command's complaint, for errors.
std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  const size_t nl = t.rfind('\n');
  std::string line = nl == std::string::npos ? t : t.substr(nl + 1);
  return line.size() > 300 ? line.substr(0, 300) : line;
}

bool controller_unreachable(const ProgramOutput& out) {
  return out.timed_out || out.err.find("Unable to contact") != std::string::npos ||
         out.err.find("Socket timed out") != std::string::npos ||
         out.err.find("Connection refused") != std::string::npos;
}

}  // namespace

std::string shell_word(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string slurm_batch_script(const JobLaunch& l, const SlurmOptions& o) {
  const JobResources& r = l.resources;
  std::string s = "#!/bin/bash\n";
  s += "# Written by officina for one fine-tuning job; submitted with sbatch --parsable.\n";
  auto directive = [&s](const std::string& text) { s += "#SBATCH " + text + "\n"; };
  directive("--job-name=" + l.name);
  directive("--partition=" + o.partition);
  if (!o.qos.empty()) directive("--qos=" + o.qos);
  if (!l.account.empty()) directive("--account=" + l.account);
  directive(fmt::format("--nodes={}", r.nodes));
  directive(fmt::format("--ntasks-per-node={}", r.tasks_per_node));
  directive(fmt::format("--cpus-per-task={}", r.cpus_per_task));
  if (r.memory_mb > 0) directive(fmt::format("--mem={}M", r.memory_mb));
  if (r.time_limit_minutes > 0) directive(fmt::format("--time={}", r.time_limit_minutes));
  if (r.gpus_per_node > 0) directive(fmt::format("--gres=gpu:{}", r.gpus_per_node));
  directive("--chdir=" + l.work_dir);
  directive("--output=" + l.log_path);
  directive("--open-mode=append");
  directive("--no-requeue");
  s += "set -u\numask 077\n";
  s += fmt::format("export OMP_NUM_THREADS={}\n", r.cpus_per_task);
  s += "echo \"officina: Slurm job ${SLURM_JOB_ID} on ${SLURM_JOB_NODELIST} ($(date -u +%FT%TZ))\"\n";
  std::string command = "srun --kill-on-bad-exit=1";
  if (r.tasks() > 1) command += " --mpi=" + o.mpi;
  for (const auto& a : l.argv) command += " " + shell_word(a);
  s += "exec " + command + "\n";
  return s;
}

SlurmExecutor::SlurmExecutor(SlurmOptions options) : options_(std::move(options)) {}

std::string SlurmExecutor::tool(const char* name) const {
  return options_.bin_dir.empty() ? std::string(name) : (std::filesystem::path(options_.bin_dir) / name).string();
}

Result<int64_t> SlurmExecutor::start(const JobLaunch& launch) {
  if (launch.argv.empty()) return fail("slurm: no command");
  if (launch.work_dir.empty() || launch.name.empty()) return fail("slurm: a job needs a name and a working directory");
  if (options_.partition.empty()) return fail("slurm: no partition configured");
  std::error_code ec;
  std::filesystem::create_directories(launch.work_dir, ec);
  if (ec) return fail("slurm: {}: {}", launch.work_dir, ec.message());
  ::chmod(launch.work_dir.c_str(), 0700);
  const std::string script_path = (std::filesystem::path(launch.work_dir) / "job.sbatch").string();
  OFFICINA_TRY(auto script, AtomicFile::create(script_path, 0700));
  const std::string text = slurm_batch_script(launch, options_);
  OFFICINA_CHECK(script.write(text.data(), text.size()));
  OFFICINA_CHECK(script.commit());
  auto out = run_program({tool("sbatch"), "--parsable", script_path}, options_.command_timeout);
  if (!out) return fail("sbatch could not run: {}", out.error().message);
  if (out->timed_out) return fail("sbatch did not answer within {} s", options_.command_timeout);
  if (out->exit_code != 0) {
    const std::string why = last_line(out->err.empty() ? out->out : out->err);
    return fail("sbatch refused the job (exit code {}): {}", out->exit_code, why.empty() ? "no message" : why);
  }
  OFFICINA_TRY(int64_t id, parse_sbatch_output(out->out));
  std::lock_guard lock(mutex_);
  Tracked t;
  t.last.state = JobState::queued;
  t.last.summary = "PENDING";
  t.next = Clock::now();
  tracked_[id] = t;
  return id;
}

JobPoll SlurmExecutor::query(int64_t id, const JobPoll& last) {
  JobPoll unknown = last;
  unknown.state = JobState::unknown;
  auto out = run_program({tool("scontrol"), "show", "job", "-o", std::to_string(id)}, options_.command_timeout);
  if (!out) {
    unknown.summary = "scontrol could not run: " + out.error().message;
    return unknown;
  }
  if (out->exit_code == 0) {
    auto info = parse_scontrol_job(out->out);
    if (!info) {
      unknown.summary = info.error().message;
      return unknown;
    }
    if (info->id != id) {
      unknown.summary = fmt::format("scontrol answered about job {} instead of {}", info->id, id);
      return unknown;
    }
    return slurm_job_poll(*info);
  }
  if (controller_unreachable(*out) || out->err.find("Invalid job id") == std::string::npos) {
    unknown.summary = "scontrol: " + last_line(out->err.empty() ? out->out : out->err);
    return unknown;
  }
  // scontrol forgot it (MinJobAge passed): ask the accounting records.
  const std::vector<std::string> fields = {"-n", "-P", "-X", "-j", std::to_string(id), "-o",
                                           "JobID,State,ExitCode,Elapsed,NCPUS,NodeList"};
  for (int mode : {1, 2}) {
    if (sacct_mode_ != 0 && sacct_mode_ != mode) continue;
    std::vector<std::string> argv{tool("sacct")};
    if (mode == 2) argv.push_back("-c");
    argv.insert(argv.end(), fields.begin(), fields.end());
    auto acct = run_program(argv, options_.command_timeout);
    if (!acct || acct->exit_code != 0) continue;
    auto info = parse_sacct_job(acct->out, id);
    if (!info) continue;
    sacct_mode_ = mode;
    return slurm_job_poll(*info);
  }
  JobPoll gone = last;
  gone.state = JobState::failed;
  gone.summary = fmt::format("Slurm no longer knows job {} and keeps no record of how it ended", id);
  return gone;
}

JobPoll SlurmExecutor::poll(int64_t handle) {
  std::unique_lock lock(mutex_);
  auto [it, fresh] = tracked_.try_emplace(handle);
  if (fresh) {  // a job from before a restart: ask at once
    it->second.last.state = JobState::running;
    it->second.next = Clock::now();
  }
  Tracked& t = it->second;
  if (t.ended || Clock::now() < t.next) return t.last;
  const JobPoll last = t.last;
  lock.unlock();  // the command may take a while; other jobs' polls go on
  JobPoll p = query(handle, last);
  lock.lock();
  Tracked& u = tracked_[handle];
  if (p.state == JobState::unknown) {
    ++u.failures;
    const double wait = std::min(options_.max_backoff, options_.poll_interval * std::pow(2.0, u.failures));
    u.next = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
    JobPoll answer = p;  // unknown, with the last known details
    u.last.summary = last.summary;
    return answer;
  }
  u.failures = 0;
  u.last = p;
  u.next = Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.poll_interval));
  u.ended = p.state == JobState::succeeded || p.state == JobState::failed || p.state == JobState::cancelled ||
            p.state == JobState::timeout;
  return p;
}

void SlurmExecutor::cancel(int64_t handle, double grace_seconds) {
  (void)grace_seconds;  // Slurm's KillWait: SIGTERM, then SIGKILL
  (void)run_program({tool("scancel"), std::to_string(handle)}, options_.command_timeout);
  std::lock_guard lock(mutex_);
  if (auto it = tracked_.find(handle); it != tracked_.end() && !it->second.ended) it->second.next = Clock::now();
}

std::optional<int64_t> SlurmExecutor::find(const std::string& name) {
  auto out = run_program({tool("squeue"), "-h", "-n", name, "-o", "%i"}, options_.command_timeout);
  if (!out || out->exit_code != 0) return std::nullopt;
  int64_t best = 0;
  size_t pos = 0;
  const std::string& text = out->out;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (auto id = parse_sbatch_output(text.substr(pos, nl - pos))) best = std::max(best, *id);
    pos = nl + 1;
  }
  if (best == 0) return std::nullopt;
  return best;
}

}  // namespace officina
