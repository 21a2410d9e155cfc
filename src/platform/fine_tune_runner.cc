// FineTuneJobs: the runner (start, stop, tick: launching, following and
// finishing training processes; recovery after a restart).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cerrno>
#include <cstring>

#include "base/atomic_file.h"

#include "platform/api_key.h"
#include "platform/fine_tune_jobs.h"
#include "train/train_checkpoint.h"

namespace officina {
namespace {

namespace fs = std::filesystem;
using OJson = nlohmann::ordered_json;

std::string adapter_context(const std::string& name) { return "officina adapter " + name; }

// The last non-empty line of a log, for the error a failed job reports.
std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (auto cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);
    if (!line.empty()) last = line;
  }
  return last.size() > 500 ? last.substr(last.size() - 500) : last;
}

int64_t mtime_unix(const std::string& path, int64_t fallback) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fallback;
  return static_cast<int64_t>(st.st_mtime);
}

// The step of the checkpoint in OUT, or 0 when there is none.
int64_t checkpoint_step(const std::string& out) {
  const std::string dir = checkpoint_dir(out);
  if (dir.empty()) return 0;
  std::ifstream in(fs::path(dir) / "state.json");
  if (!in) return 0;
  std::stringstream text;
  text << in.rdbuf();
  OJson state = OJson::parse(text.str(), nullptr, false);
  if (!state.is_object()) return 0;
  if (state.contains("step") && state["step"].is_number_integer()) return state["step"].get<int64_t>();
  if (state.contains("position") && state["position"].is_object()) return state["position"].value("step", int64_t{0});
  return 0;
}

std::string job_name(const JobRecord& job) { return "officina-" + job.id; }

std::string executor_name(std::string_view kind) { return kind == "slurm" ? "Slurm" : std::string(kind); }

// Copies a memory file into a new file only the server's user can read.
Result<void> copy_fd_to_file(int fd, const std::string& path) {
  OFFICINA_TRY(auto file, AtomicFile::create(path, 0600));
  std::vector<char> buffer(1 << 16);
  for (off_t offset = 0;;) {
    const ssize_t got = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (got < 0) return fail("{}: read: {}", path, std::strerror(errno));
    if (got == 0) break;
    OFFICINA_CHECK(file.write(buffer.data(), static_cast<size_t>(got)));
    offset += got;
  }
  return file.commit();
}

JobResources job_resources(const JobRecord& job, int cores_per_job) {
  JobResources r;
  r.cpus_per_task = cores_per_job;
  const OJson j = OJson::parse(job.resources, nullptr, false);
  if (!j.is_object()) return r;
  r.nodes = std::max(1, j.value("nodes", 1));
  r.tasks_per_node = std::max(1, j.value("tasks_per_node", 1));
  r.cpus_per_task = std::max(1, j.value("cpus_per_task", cores_per_job));
  r.memory_mb = std::max<int64_t>(0, j.value("memory_mb", int64_t{0}));
  r.time_limit_minutes = std::max<int64_t>(0, j.value("time_limit_minutes", int64_t{0}));
  r.gpus_per_node = std::max(0, j.value("gpus_per_node", 0));
  return r;
}

}  // namespace

int64_t FineTuneJobs::last_metrics_step(const std::string& job_id) {
  auto events = platform_.store().list_job_events(job_id, "", 500);  // newest first
  if (!events) return 0;
  for (const JobEvent& e : *events) {
    if (e.type != "metrics") continue;
    const OJson data = OJson::parse(e.data, nullptr, false);
    if (data.is_object()) return data.value("step", int64_t{0});
  }
  return 0;
}

Result<void> FineTuneJobs::start(bool run_thread) {
  OFFICINA_CHECK(recover());
  OFFICINA_TRY(auto adapters, platform_.store().list_adapters(""));
  for (const AdapterRecord& a : adapters) {
    auto key = platform_.open_object_key(a.project_id, a.wrapped_key, adapter_context(a.name));
    if (!key) return wrap(key.error(), "adapter " + a.name);
    if (on_adapter_) OFFICINA_CHECK(on_adapter_(a, *key));
  }
  if (run_thread) {
    stopping_ = false;
    thread_ = std::thread([this] { runner(); });
  }
  return {};
}

void FineTuneJobs::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (auto& [id, run] : running_) {
    if (executor_.detached()) continue;  // it runs on in the scheduler; the next start adopts it
    executor_.cancel(run.handle, 2.0);
    (void)executor_.poll(run.handle);
    auto job = platform_.store().get_job(id);
    if (job && *job) {
      JobRecord j = **job;
      charge(j, run.attempt_started, platform_.now(), run.cores);
      j.finished_at = platform_.now();  // charged until here: recovery bills only what follows
      (void)platform_.store().update_job(j);  // still "running": the next start resumes it
    }
  }
  running_.clear();
}

void FineTuneJobs::runner() {
  while (true) {
    tick();
    std::unique_lock lock(stop_mutex_);
    if (stop_cv_.wait_for(lock, std::chrono::duration<double>(options_.poll_seconds), [this] { return stopping_; })) {
      return;
    }
  }
}

Result<void> FineTuneJobs::recover() {
  std::lock_guard lock(mutex_);
  OFFICINA_TRY(int orphans, files_.clean_orphans());
  (void)orphans;
  OFFICINA_TRY(auto validating, platform_.store().jobs_with_status(JobStatus::validating_files));
  for (JobRecord job : validating) {
    job.status = JobStatus::queued;
    OFFICINA_CHECK(platform_.store().update_job(job));
  }
  OFFICINA_TRY(auto interrupted, platform_.store().jobs_with_status(JobStatus::running));
  if (executor_.detached()) {
    // Jobs submitted to the scheduler before the restart: adopted by id (or
    // found by name when the server died between submitting and recording).
    OFFICINA_TRY(auto queued, platform_.store().jobs_with_status(JobStatus::queued));
    interrupted.insert(interrupted.end(), queued.begin(), queued.end());
  }
  for (JobRecord job : interrupted) {
    const std::string dir = work_dir(job);
    if (executor_.detached()) {
      std::optional<int64_t> handle = parse_executor_ref(job.executor_ref);
      if (!handle) handle = executor_.find(job_name(job));
      if (handle) {
        Running run;
        run.handle = *handle;
        run.attempt_started = job.finished_at.value_or(platform_.now());
        run.cores = job.cores;
        run.last_step = last_metrics_step(job.id);
        run.last.state = job.status == JobStatus::running ? JobState::running : JobState::queued;
        job.executor_ref = executor_ref(*handle);
        OFFICINA_CHECK(platform_.store().update_job(job));
        running_[job.id] = run;
        OFFICINA_CHECK(event(job.id, fmt::format("The server restarted; it follows {} job {} again",
                                                 executor_name(executor_.kind()), *handle)));
        continue;
      }
      if (job.status == JobStatus::queued) continue;  // never submitted: launched as usual
      job.executor_ref.clear();
    }
    // The interrupted attempt is charged up to its last sign of life.
    const int64_t last = std::min(platform_.now(), std::max(mtime_unix(dir + "/metrics.jsonl", 0),
                                                            mtime_unix(dir + "/log.txt", 0)));
    const int64_t started = job.finished_at.value_or(job.started_at.value_or(platform_.now()));
    if (last > started) charge(job, started, last, job.cores);
    if (job.attempts - job.requeues >= options_.max_attempts) {
      std::error_code rm;
      fs::remove_all(fs::path(dir) / "out", rm);
      job.status = JobStatus::failed;
      job.finished_at = platform_.now();
      job.error = OJson{{"code", "interrupted"},
                        {"message", fmt::format("The server stopped {} times while this job ran", job.attempts)},
                        {"param", nullptr}}.dump();
      OFFICINA_CHECK(platform_.store().update_job(job));
      OFFICINA_CHECK(event(job.id, "The job failed: the server stopped too often while it ran", "error"));
      continue;
    }
    const int64_t step = checkpoint_step(dir + "/out");
    job.status = JobStatus::queued;
    OFFICINA_CHECK(platform_.store().update_job(job));
    OFFICINA_CHECK(event(job.id, step > 0 ? fmt::format("The server restarted while the job ran; it resumes from "
                                                        "its checkpoint at step {}", step)
                                          : "The server restarted while the job ran; it starts again",
                         "warn"));
  }
  return {};
}

void FineTuneJobs::tick() {
  std::lock_guard lock(mutex_);
  // Follow the running jobs.
  for (auto it = running_.begin(); it != running_.end();) {
    auto stored = platform_.store().get_job(it->first);
    if (!stored || !*stored) {
      ++it;
      continue;
    }
    JobRecord job = **stored;
    Running& run = it->second;
    read_progress(job, run);
    const JobPoll poll = executor_.poll(run.handle);
    if (poll.state == JobState::unknown) {
      if (!run.unanswered) {
        (void)event(job.id, fmt::format("{} does not answer ({}); the job keeps its state and officina asks again",
                                        executor_name(executor_.kind()), poll.summary), "warn");
        run.unanswered = true;
      }
      ++it;
      continue;
    }
    if (run.unanswered) {
      (void)event(job.id, fmt::format("{} answers again", executor_name(executor_.kind())));
      run.unanswered = false;
    }
    if (follow(job, run, poll)) {
      if (poll.state == JobState::running) {
        // Out of budget: stop it before it spends more than was granted.
        const bool reported = executor_.detached() && poll.elapsed_seconds >= 0 && poll.cpus > 0;
        const double spent = reported ? poll.elapsed_seconds * poll.cpus / 3600.0
                                      : static_cast<double>(platform_.now() - run.attempt_started) / 3600.0 * run.cores;
        auto budget = platform_.check_budget(job.project_id, spent, 0);
        if (!budget) {
          executor_.cancel(run.handle, 2.0);
          Running stopped = run;
          it = running_.erase(it);
          charge_attempt(job, stopped);
          std::error_code rm;
          fs::remove_all(fs::path(work_dir(job)) / "out", rm);
          drop_job_data(job);
          job.status = JobStatus::failed;
          job.finished_at = platform_.now();
          job.error = OJson{{"code", "insufficient_quota"}, {"message", budget.error().message}, {"param", nullptr}}.dump();
          (void)platform_.store().update_job(job);
          (void)event(job.id, "The job was stopped: " + budget.error().message, "error");
          continue;
        }
      }
      (void)platform_.store().update_job(job);
      ++it;
      continue;
    }
    Running ended = run;
    if (poll.elapsed_seconds >= 0) ended.last = poll;
    else ended.last.state = poll.state;
    it = running_.erase(it);
    if (poll.state == JobState::timeout) {
      requeue(job, ended, poll);
      continue;
    }
    if (poll.state == JobState::cancelled) {
      charge_attempt(job, ended);
      std::error_code rm;
      fs::remove_all(fs::path(work_dir(job)) / "out", rm);
      drop_job_data(job);
      job.status = JobStatus::cancelled;
      job.finished_at = platform_.now();
      (void)platform_.store().update_job(job);
      (void)event(job.id, fmt::format("{} cancelled job {} (not through officina)", executor_name(executor_.kind()),
                                      ended.handle), "warn");
      continue;
    }
    finish(job, ended, poll);
  }
  // Start queued jobs: fewest running per project first, then oldest.
  int used = 0;
  std::map<std::string, int> per_project;
  for (const auto& [id, run] : running_) used += run.cores;
  auto queued = platform_.store().jobs_with_status(JobStatus::queued);
  if (!queued) return;
  for (const auto& [id, run] : running_) {
    auto j = platform_.store().get_job(id);
    if (j && *j) ++per_project[(*j)->project_id];
  }
  // Fair share: fewest running first, then fewest started since this server
  // started, then the oldest.
  std::stable_sort(queued->begin(), queued->end(), [&](const JobRecord& a, const JobRecord& b) {
    if (per_project[a.project_id] != per_project[b.project_id]) {
      return per_project[a.project_id] < per_project[b.project_id];
    }
    return started_[a.project_id] < started_[b.project_id];
  });
  for (JobRecord& job : *queued) {
    if (running_.contains(job.id)) continue;  // submitted, pending in the scheduler
    if (used + job.cores > options_.total_cores) break;
    if (per_project[job.project_id] >= options_.max_running_per_project) continue;
    if (auto ok = launch(job); !ok) {
      job.status = JobStatus::failed;
      job.finished_at = platform_.now();
      job.error = OJson{{"code", "launch_failed"}, {"message", ok.error().message}, {"param", nullptr}}.dump();
      (void)platform_.store().update_job(job);
      (void)event(job.id, "The job could not start: " + ok.error().message, "error");
      continue;
    }
    used += job.cores;
    ++per_project[job.project_id];
    ++started_[job.project_id];
  }
}

Result<void> FineTuneJobs::launch(JobRecord job) {
  const std::string dir = work_dir(job);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("{}: {}", dir, ec.message());
  fs::permissions(fs::path(platform_.data_dir()) / "jobs", fs::perms::owner_all, fs::perm_options::replace, ec);
  const std::string out = dir + "/out";
  const OJson h = OJson::parse(job.hyperparameters, nullptr, false);
  if (!h.is_object()) return fail("job {}: stored hyperparameters are not JSON", job.id);
  OFFICINA_TRY(int train_fd, files_.decrypt_to_memfd(job.project_id, job.training_file));
  struct Closer {
    std::vector<int> fds;
    ~Closer() {
      for (int fd : fds) ::close(fd);
    }
  } closer{{train_fd}};
  // The job reads its data from memory files it inherits, or — under a
  // scheduler, on another machine — from files in its own 0700 directory,
  // removed when the job ends.
  const bool data_files = executor_.needs_data_files();
  auto data_path = [&](int fd, const char* name) -> Result<std::string> {
    if (!data_files) return fmt::format("/proc/self/fd/{}", fd);
    const std::string data_dir = dir + "/data";
    std::error_code mk;
    fs::create_directories(data_dir, mk);
    if (mk) return fail("{}: {}", data_dir, mk.message());
    fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, mk);
    const std::string path = data_dir + "/" + name;
    OFFICINA_CHECK(copy_fd_to_file(fd, path));
    return path;
  };
  OFFICINA_TRY(std::string train_path, data_path(train_fd, "train.jsonl"));
  std::string targets = "all";
  if (h["lora_target_modules"].is_array()) {
    targets.clear();
    for (const auto& t : h["lora_target_modules"]) targets += (targets.empty() ? "" : ",") + t.get<std::string>();
  }
  const JobResources res = job_resources(job, options_.cores_per_job);
  JobLaunch l;
  l.argv = {options_.program, "finetune", "-m", options_.base_model,
            "--data", train_path, "--out", out,
            "--rank", std::to_string(h.value("lora_r", int64_t{16})),
            "--alpha", fmt::format("{}", h.value("lora_alpha", 32.0)),
            "--dropout", fmt::format("{}", h.value("lora_dropout", 0.0)),
            "--targets", targets,
            "--epochs", std::to_string(h.value("n_epochs", int64_t{1})),
            "--batch-size", std::to_string(h.value("batch_size", int64_t{1})),
            "--seq-len", std::to_string(h.value("seq_len", int64_t{512})),
            "--lr", fmt::format("{}", 2e-4 * h.value("learning_rate_multiplier", 1.0)),
            "--seed", std::to_string(job.seed),
            "--save-every", std::to_string(options_.save_every),
            "--metrics", dir + "/metrics.jsonl",
            "-t", std::to_string(res.cpus_per_task), "-q"};
  if (!job.validation_file.empty()) {
    OFFICINA_TRY(int val_fd, files_.decrypt_to_memfd(job.project_id, job.validation_file));
    closer.fds.push_back(val_fd);
    OFFICINA_TRY(std::string val_path, data_path(val_fd, "validation.jsonl"));
    l.argv.insert(l.argv.end(), {"--val", val_path, "--eval-every", std::to_string(options_.save_every)});
  }
  const int64_t resume_step = checkpoint_step(out);
  if (resume_step > 0) l.argv.push_back("--resume");
  l.log_path = dir + "/log.txt";
  l.cores = res.cpus_per_task;
  l.memory_mb = job.memory_mb;
  if (!data_files) l.keep_fds = closer.fds;
  l.name = job_name(job);
  l.work_dir = dir;
  l.account = slurm_account(options_.account_prefix, job.project_id);
  l.resources = res;
  OFFICINA_TRY(int64_t handle, executor_.start(l));
  Running run;
  run.handle = handle;
  run.attempt_started = platform_.now();
  run.cores = job.cores;
  // A resumed run appends to the metrics file: carry on after what was read.
  std::error_code size_ec;
  const auto size = fs::file_size(dir + "/metrics.jsonl", size_ec);
  run.metrics_offset = size_ec || resume_step == 0 ? 0 : static_cast<size_t>(size);
  job.executor_ref = executor_ref(handle);
  if (executor_.detached()) {
    run.last.state = JobState::queued;  // until the scheduler starts it
  } else {
    job.status = JobStatus::running;
    if (!job.started_at) job.started_at = run.attempt_started;
  }
  job.finished_at = run.attempt_started;  // this attempt's start, while running
  ++job.attempts;
  running_[job.id] = run;
  OFFICINA_CHECK(platform_.store().update_job(job));
  if (executor_.detached()) {
    const OJson data{{"executor", executor_.kind()}, {"job_id", handle}, {"nodes", res.nodes},
                     {"tasks_per_node", res.tasks_per_node}, {"cpus_per_task", res.cpus_per_task},
                     {"memory_mb", res.memory_mb}, {"time_limit_minutes", res.time_limit_minutes},
                     {"gpus_per_node", res.gpus_per_node}, {"account", l.account}};
    return event(job.id,
                 fmt::format("Submitted to {} as job {}: {} node(s) x {} task(s) x {} CPU(s), {} min{}{}",
                             executor_name(executor_.kind()), handle, res.nodes, res.tasks_per_node,
                             res.cpus_per_task, res.time_limit_minutes,
                             l.account.empty() ? "" : ", account " + l.account,
                             resume_step > 0 ? fmt::format(", resuming from step {}", resume_step) : ""),
                 "info", "message", data.dump());
  }
  if (resume_step > 0) {
    return event(job.id, fmt::format("Fine-tuning job resumed from step {} (attempt {})", resume_step, job.attempts));
  }
  return event(job.id, "Fine-tuning job started");
}

bool FineTuneJobs::follow(JobRecord& job, Running& run, const JobPoll& poll) {
  if (poll.state != JobState::queued && poll.state != JobState::running) return false;
  const std::string who = executor_name(executor_.kind());
  const OJson data{{"executor", executor_.kind()}, {"job_id", run.handle}, {"state", poll.summary},
                   {"reason", poll.reason}};
  if (poll.state == JobState::queued) {
    if (run.last.state != JobState::queued || poll.reason != run.last.reason) {
      (void)event(job.id, fmt::format("{} job {} is pending{}", who, run.handle,
                                      poll.reason.empty() ? "" : " (reason: " + poll.reason + ")"),
                  "info", "message", data.dump());
    }
    if (job.status == JobStatus::running) job.status = JobStatus::queued;
  } else if (job.status != JobStatus::running) {
    job.status = JobStatus::running;
    if (!job.started_at) job.started_at = platform_.now();
    run.attempt_started = platform_.now();
    (void)event(job.id, fmt::format("{} job {} is running{}", who, run.handle,
                                    poll.node.empty() ? "" : " on " + poll.node),
                "info", "message", data.dump());
  }
  run.last = poll;
  return true;
}

void FineTuneJobs::requeue(JobRecord job, Running run, const JobPoll& poll) {
  charge_attempt(job, run);
  job.executor_ref.clear();
  const int64_t step = checkpoint_step(work_dir(job) + "/out");
  if (job.requeues >= options_.max_requeues) {
    std::error_code rm;
    fs::remove_all(fs::path(work_dir(job)) / "out", rm);
    drop_job_data(job);
    job.status = JobStatus::failed;
    job.finished_at = platform_.now();
    const std::string message = fmt::format("{} job {} reached its time limit ({}) and was already requeued {} times",
                                            executor_name(executor_.kind()), run.handle, poll.summary, job.requeues);
    job.error = OJson{{"code", "time_limit"}, {"message", message}, {"param", nullptr}}.dump();
    (void)platform_.store().update_job(job);
    (void)event(job.id, "The job failed: " + message, "error");
    return;
  }
  ++job.requeues;
  job.status = JobStatus::queued;
  (void)platform_.store().update_job(job);
  (void)event(job.id,
              fmt::format("{} job {} reached its time limit ({}); requeued ({} of {}), {}",
                          executor_name(executor_.kind()), run.handle, poll.summary, job.requeues,
                          options_.max_requeues,
                          step > 0 ? fmt::format("resuming from its checkpoint at step {}", step) : "starting again"),
              "warn");
}

void FineTuneJobs::read_progress(JobRecord& job, Running& run) {
  const std::string path = work_dir(job) + "/metrics.jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(run.metrics_offset));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  run.metrics_offset += chunk.size();
  run.partial += chunk;
  size_t start = 0;
  for (size_t nl; (nl = run.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    const OJson line = OJson::parse(run.partial.substr(start, nl - start), nullptr, false);
    if (!line.is_object() || !line.contains("step")) continue;
    const int64_t step = line.value("step", int64_t{0});
    if (step <= run.last_step) continue;  // seen before the server restarted
    const double loss = line.value("loss", 0.0);
    job.trained_tokens += line.value("tokens", int64_t{0});
    OJson data{{"step", step}, {"train_loss", loss}, {"learning_rate", line.value("lr", 0.0)},
               {"tokens_per_second", line.value("tokens_per_s", 0.0)}};
    std::string message = fmt::format("Step {}: training loss={:.4f}", step, loss);
    if (line.contains("eval_loss")) {
      data["valid_loss"] = line["eval_loss"];
      data["valid_mean_token_accuracy"] = line.value("eval_accuracy", 0.0);
      message += fmt::format(", validation loss={:.4f}", line.value("eval_loss", 0.0));
    }
    (void)event(job.id, message, "info", "metrics", data.dump());
    if (options_.save_every > 0 && step % options_.save_every == 0) {
      JobCheckpoint c;
      c.id = "ftckpt-" + random_hex(12);
      c.job_id = job.id;
      c.step = step;
      c.created_at = platform_.now();
      c.metrics = data.dump();
      c.fine_tuned_model_checkpoint = fmt::format("ft:{}:{}:ckpt-step-{}", job.model, job.id, step);
      (void)platform_.store().insert_checkpoint(c);
    }
  }
  run.partial.erase(0, start);
}

void FineTuneJobs::finish(JobRecord job, Running run, const JobPoll& poll) {
  read_progress(job, run);
  charge_attempt(job, run);
  job.finished_at = platform_.now();
  drop_job_data(job);
  const std::string dir = work_dir(job);
  auto failed = [&](const std::string& code, const std::string& message) {
    std::error_code rm;
    fs::remove_all(fs::path(dir) / "out", rm);  // no decrypted weights outlive the job
    job.status = JobStatus::failed;
    job.error = OJson{{"code", code}, {"message", message}, {"param", nullptr}}.dump();
    (void)platform_.store().update_job(job);
    (void)event(job.id, "The job failed: " + message, "error");
  };
  if (poll.state != JobState::succeeded) {
    const std::string last = last_log_line(dir + "/log.txt");
    const std::string ended =
        executor_.detached()
            ? fmt::format("{} job {} ended {}", executor_name(executor_.kind()), run.handle, poll.summary)
            : fmt::format("The training process ended with {}", poll.summary);
    return failed("training_failed", fmt::format("{}{}{}", ended, last.empty() ? "" : ": ", last));
  }
  // Seal the adapter under its own key, record it, serve it; then drop the plaintext.
  AdapterRecord a;
  a.name = fmt::format("ft:{}:{}:{}", job.model, job.suffix.empty() ? "officina" : job.suffix, job.id);
  a.project_id = job.project_id;
  a.job_id = job.id;
  a.path = (fs::path("adapters") / job.project_id / (job.id + ".gguf.enc")).string();
  a.created_at = platform_.now();
  auto key = platform_.new_object_key(job.project_id, adapter_context(a.name));
  if (!key) return failed("adapter_store_failed", key.error().message);
  a.wrapped_key = key->second;
  const fs::path target = fs::path(platform_.data_dir()) / a.path;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  std::ifstream plain(dir + "/out/adapter.gguf", std::ios::binary);
  if (!plain) return failed("adapter_store_failed", "the training process wrote no adapter.gguf");
  auto writer = EncryptedFileWriter::create(target.string(), key->first, adapter_context(a.name));
  if (!writer) return failed("adapter_store_failed", writer.error().message);
  std::vector<char> buffer(1 << 16);
  while (plain) {
    plain.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<size_t>(plain.gcount());
    if (got == 0) break;
    if (auto ok = writer->write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buffer.data()), got)); !ok) {
      return failed("adapter_store_failed", ok.error().message);
    }
  }
  if (auto ok = writer->commit(); !ok) return failed("adapter_store_failed", ok.error().message);
  if (auto ok = platform_.store().insert_adapter(a); !ok) return failed("adapter_store_failed", ok.error().message);
  if (on_adapter_) {
    if (auto ok = on_adapter_(a, key->first); !ok) {
      (void)platform_.store().delete_adapter(a.name);
      fs::remove(target, ec);
      return failed("adapter_load_failed", ok.error().message);
    }
  }
  fs::remove_all(fs::path(dir) / "out", ec);
  job.status = JobStatus::succeeded;
  job.fine_tuned_model = a.name;
  job.error.clear();
  (void)platform_.store().update_job(job);
  (void)event(job.id, "New fine-tuned model created: " + a.name);
  (void)event(job.id, "The job has successfully completed");
}

}  // namespace officina
