// FineTuneJobs: the runner (start, stop, tick: launching, following and
// finishing training processes; recovery after a restart).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace

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
  for (JobRecord job : interrupted) {
    const std::string dir = work_dir(job);
    // The interrupted attempt is charged up to its last sign of life.
    const int64_t last = std::min(platform_.now(), std::max(mtime_unix(dir + "/metrics.jsonl", 0),
                                                            mtime_unix(dir + "/log.txt", 0)));
    const int64_t started = job.finished_at.value_or(job.started_at.value_or(platform_.now()));
    if (last > started) charge(job, started, last, job.cores);
    if (job.attempts >= options_.max_attempts) {
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
    read_progress(job, it->second);
    const JobPoll poll = executor_.poll(it->second.handle);
    if (poll.state == JobState::running) {
      // Out of budget: stop it before it spends more than was granted.
      const double spent = static_cast<double>(platform_.now() - it->second.attempt_started) / 3600.0 * it->second.cores;
      auto budget = platform_.check_budget(job.project_id, spent, 0);
      if (!budget) {
        executor_.cancel(it->second.handle, 2.0);
        Running run = it->second;
        it = running_.erase(it);
        charge(job, run.attempt_started, platform_.now(), run.cores);
        std::error_code rm;
        fs::remove_all(fs::path(work_dir(job)) / "out", rm);
        job.status = JobStatus::failed;
        job.finished_at = platform_.now();
        job.error = OJson{{"code", "insufficient_quota"}, {"message", budget.error().message}, {"param", nullptr}}.dump();
        (void)platform_.store().update_job(job);
        (void)event(job.id, "The job was stopped: " + budget.error().message, "error");
        continue;
      }
      (void)platform_.store().update_job(job);
      ++it;
      continue;
    }
    Running run = it->second;
    it = running_.erase(it);
    finish(job, run, poll);
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
    if (used + options_.cores_per_job > options_.total_cores) break;
    if (per_project[job.project_id] >= options_.max_running_per_project) continue;
    if (auto ok = launch(job); !ok) {
      job.status = JobStatus::failed;
      job.finished_at = platform_.now();
      job.error = OJson{{"code", "launch_failed"}, {"message", ok.error().message}, {"param", nullptr}}.dump();
      (void)platform_.store().update_job(job);
      (void)event(job.id, "The job could not start: " + ok.error().message, "error");
      continue;
    }
    used += options_.cores_per_job;
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
  std::string targets = "all";
  if (h["lora_target_modules"].is_array()) {
    targets.clear();
    for (const auto& t : h["lora_target_modules"]) targets += (targets.empty() ? "" : ",") + t.get<std::string>();
  }
  JobLaunch l;
  l.argv = {options_.program, "finetune", "-m", options_.base_model,
            "--data", fmt::format("/proc/self/fd/{}", train_fd), "--out", out,
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
            "-t", std::to_string(options_.cores_per_job), "-q"};
  if (!job.validation_file.empty()) {
    OFFICINA_TRY(int val_fd, files_.decrypt_to_memfd(job.project_id, job.validation_file));
    closer.fds.push_back(val_fd);
    l.argv.insert(l.argv.end(), {"--val", fmt::format("/proc/self/fd/{}", val_fd), "--eval-every",
                                 std::to_string(options_.save_every)});
  }
  const int64_t resume_step = checkpoint_step(out);
  if (resume_step > 0) l.argv.push_back("--resume");
  l.log_path = dir + "/log.txt";
  l.cores = options_.cores_per_job;
  l.memory_mb = job.memory_mb;
  l.keep_fds = closer.fds;
  OFFICINA_TRY(int64_t handle, executor_.start(l));
  Running run;
  run.handle = handle;
  run.attempt_started = platform_.now();
  run.cores = options_.cores_per_job;
  // A resumed run appends to the metrics file: carry on after what was read.
  std::error_code size_ec;
  const auto size = fs::file_size(dir + "/metrics.jsonl", size_ec);
  run.metrics_offset = size_ec || resume_step == 0 ? 0 : static_cast<size_t>(size);
  job.status = JobStatus::running;
  if (!job.started_at) job.started_at = run.attempt_started;
  job.finished_at = run.attempt_started;  // this attempt's start, while running
  ++job.attempts;
  running_[job.id] = run;
  OFFICINA_CHECK(platform_.store().update_job(job));
  if (resume_step > 0) {
    return event(job.id, fmt::format("Fine-tuning job resumed from step {} (attempt {})", resume_step, job.attempts));
  }
  return event(job.id, "Fine-tuning job started");
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
  charge(job, run.attempt_started, platform_.now(), run.cores);
  job.finished_at = platform_.now();
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
    return failed("training_failed",
                  fmt::format("The training process ended with {}{}{}", poll.summary, last.empty() ? "" : ": ", last));
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
