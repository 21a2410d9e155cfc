// FineTuneJobs: the API side (create, list, get, cancel, events, checkpoints).
#include "platform/fine_tune_jobs.h"

#include <cctype>
#include <cmath>
#include <filesystem>

#include "platform/api_key.h"
#include "platform/fine_tune_request.h"
#include "platform/platform_errors.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

ApiError job_not_found(const std::string& id) { return not_found(fmt::format("No fine-tuning job '{}'", id)); }

}  // namespace

JobTierLimits job_tier_limits(AccessTier tier) {
  switch (tier) {
    case AccessTier::playground: return {1, 2, 120, 1};
    case AccessTier::fast_lane: return {4, 32, 1440, 4};
    case AccessTier::large_scale: return {64, 1024, 2880, 8};
  }
  return {1, 1, 60, 0};
}

std::string slurm_account(const std::string& prefix, const std::string& project_id) {
  if (prefix.empty()) return "";
  std::string account = prefix + project_id;
  for (char& c : account) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) c = '_';
  }
  return account;
}

std::string FineTuneJobs::executor_ref(int64_t handle) const {
  return fmt::format("{}:{}", executor_.kind(), handle);
}

std::optional<int64_t> FineTuneJobs::parse_executor_ref(const std::string& ref) const {
  const std::string prefix = std::string(executor_.kind()) + ":";
  if (!ref.starts_with(prefix)) return std::nullopt;
  try {
    size_t used = 0;
    const int64_t id = std::stoll(ref.substr(prefix.size()), &used);
    if (used != ref.size() - prefix.size() || id <= 0) return std::nullopt;
    return id;
  } catch (...) {
    return std::nullopt;
  }
}

FineTuneJobs::FineTuneJobs(Platform& platform, FileService& files, JobExecutor& executor, FineTuneJobsOptions options,
                           AdapterReady on_adapter)
    : platform_(platform), files_(files), executor_(executor), options_(std::move(options)),
      on_adapter_(std::move(on_adapter)) {}

FineTuneJobs::~FineTuneJobs() { stop(); }

std::string FineTuneJobs::work_dir(const JobRecord& job) const {
  const std::filesystem::path root =
      options_.jobs_dir.empty() ? std::filesystem::path(platform_.data_dir()) / "jobs" : std::filesystem::path(options_.jobs_dir);
  return (root / job.project_id / job.id).string();
}

Result<void> FineTuneJobs::event(const std::string& job_id, const std::string& message, const std::string& level,
                                 const std::string& type, const std::string& data) {
  JobEvent e;
  e.id = "ftevent-" + random_hex(12);
  e.job_id = job_id;
  e.created_at = platform_.now();
  e.level = level;
  e.type = type;
  e.message = message;
  e.data = data;
  OFFICINA_TRY(int64_t seq, platform_.store().insert_job_event(e));
  (void)seq;
  return {};
}

ApiResult<JobRecord> FineTuneJobs::create(const Principal& who, const std::string& origin, const OJson& body) {
  if (who.project_id.empty()) return std::unexpected(bad_request("Jobs belong to projects: create one with a project's key"));
  if (auto project = platform_.visible_project(who, who.project_id); !project) return std::unexpected(project.error());
  if (!who.can_write()) return std::unexpected(forbidden("A viewer key cannot create fine-tuning jobs"));
  auto request = parse_fine_tune_request(body);
  if (!request) return std::unexpected(request.error());
  if (request->model != options_.base_name) {
    return std::unexpected(ApiError{404,
                                    fmt::format("The model '{}' does not exist or cannot be fine-tuned here; this "
                                                "server fine-tunes '{}'",
                                                request->model, options_.base_name),
                                    "invalid_request_error", "model", "model_not_found"});
  }
  auto training = files_.get(who, request->training_file);
  if (!training) {
    return std::unexpected(bad_request(fmt::format("training_file '{}' does not exist", request->training_file),
                                       "training_file", "file_not_found"));
  }
  if (training->purpose != "fine-tune") {
    return std::unexpected(bad_request(fmt::format("training_file '{}' has purpose '{}', not 'fine-tune'", training->id,
                                                   training->purpose),
                                       "training_file"));
  }
  if (!request->validation_file.empty()) {
    auto validation = files_.get(who, request->validation_file);
    if (!validation) {
      return std::unexpected(bad_request(fmt::format("validation_file '{}' does not exist", request->validation_file),
                                         "validation_file", "file_not_found"));
    }
  }
  const OJson report = OJson::parse(training->report, nullptr, false);
  const int64_t samples = report.is_object() ? report.value("samples", int64_t{1}) : 1;
  const int64_t tokens = report.is_object() ? report.value("total_tokens", int64_t{0}) : 0;
  const int64_t seed = static_cast<int64_t>(std::stoull(random_hex(3), nullptr, 16));
  const ResolvedHyperparameters h = resolve_hyperparameters(*request, samples, options_.context, seed);

  // What it asks of the scheduler.
  JobResources res;
  res.nodes = static_cast<int>(request->nodes.value_or(1));
  res.tasks_per_node = static_cast<int>(request->tasks_per_node.value_or(1));
  res.cpus_per_task = options_.cores_per_job;
  res.gpus_per_node = static_cast<int>(request->gpus_per_node.value_or(0));
  res.time_limit_minutes = request->time_limit_minutes.value_or(options_.time_limit_minutes);
  res.memory_mb = (options_.memory_mb > 0 ? options_.memory_mb : 2048) * res.tasks_per_node;
  if (!executor_.detached() && (res.tasks() > 1 || res.gpus_per_node > 0)) {
    return std::unexpected(bad_request("This instance runs fine-tuning jobs on its own machine, one process each: "
                                       "more tasks, nodes or GPUs need its Slurm executor",
                                       "resources", "resources_unavailable"));
  }

  // The budget must cover the estimated run (and the dates must allow it).
  const double seconds = static_cast<double>(tokens * h.n_epochs) /
                         (options_.tokens_per_core_second * static_cast<double>(res.cpus()));
  const double estimate = static_cast<double>(res.cpus()) * std::max(seconds / 3600.0, 1.0 / 60.0);
  auto allocation = platform_.check_budget(who.project_id, estimate, 0);
  if (!allocation) return std::unexpected(allocation.error());
  const JobTierLimits limits = job_tier_limits(allocation->tier);
  const std::string tier(tier_name(allocation->tier));
  if (res.nodes > limits.max_nodes) {
    return std::unexpected(bad_request(fmt::format("The {} tier allows at most {} node(s) per job", tier,
                                                   limits.max_nodes), "resources.nodes", "resources_unavailable"));
  }
  if (res.tasks() > limits.max_tasks) {
    return std::unexpected(bad_request(fmt::format("The {} tier allows at most {} task(s) per job", tier,
                                                   limits.max_tasks), "resources.tasks_per_node",
                                       "resources_unavailable"));
  }
  if (res.time_limit_minutes > limits.max_time_limit_minutes) {
    return std::unexpected(bad_request(fmt::format("The {} tier allows a time limit of at most {} minutes", tier,
                                                   limits.max_time_limit_minutes),
                                       "resources.time_limit_minutes", "resources_unavailable"));
  }
  if (res.gpus_per_node > limits.max_gpus_per_node) {
    return std::unexpected(bad_request(fmt::format("The {} tier allows at most {} GPU(s) per node", tier,
                                                   limits.max_gpus_per_node), "resources.gpus_per_node",
                                       "resources_unavailable"));
  }

  JobRecord job;
  job.id = "ftjob-" + random_hex(12);
  job.project_id = who.project_id;
  job.model = request->model;
  job.training_file = request->training_file;
  job.validation_file = request->validation_file;
  job.suffix = request->suffix;
  job.seed = h.seed;
  job.hyperparameters = h.to_json().dump();
  job.method = OJson{{"type", "supervised"}, {"supervised", {{"hyperparameters", h.to_json()}}}}.dump();
  job.status = JobStatus::validating_files;
  job.created_at = platform_.now();
  job.cores = res.cpus();
  job.memory_mb = options_.memory_mb;
  job.resources = OJson{{"nodes", res.nodes},
                        {"tasks_per_node", res.tasks_per_node},
                        {"cpus_per_task", res.cpus_per_task},
                        {"memory_mb", res.memory_mb},
                        {"time_limit_minutes", res.time_limit_minutes},
                        {"gpus_per_node", res.gpus_per_node}}.dump();
  job.allocation_id = allocation->id;
  std::lock_guard lock(mutex_);
  if (auto ok = platform_.store().insert_job(job); !ok) return std::unexpected(server_error(ok.error()));
  auto noted = event(job.id, fmt::format("Validating training file: {}", job.training_file));
  if (noted) noted = event(job.id, "Files validated, moving job to queued state");
  if (!noted) return std::unexpected(server_error(noted.error()));
  job.status = JobStatus::queued;
  if (auto ok = platform_.store().update_job(job); !ok) return std::unexpected(server_error(ok.error()));
  OJson detail{{"model", job.model}, {"training_file", job.training_file}, {"hyperparameters", h.to_json()}};
  if (auto ok = platform_.audit(who, origin, job.project_id, "fine_tuning.job.create", job.id, detail.dump()); !ok) {
    return std::unexpected(server_error(ok.error()));
  }
  return job;
}

ApiResult<JobRecord> FineTuneJobs::get(const Principal& who, const std::string& id) {
  auto job = platform_.store().get_job(id);
  if (!job) return std::unexpected(server_error(job.error()));
  if (!*job || (!who.is_operator() && (*job)->project_id != who.project_id)) return std::unexpected(job_not_found(id));
  if (auto project = platform_.visible_project(who, (*job)->project_id); !project) {
    return std::unexpected(job_not_found(id));
  }
  return **job;
}

ApiResult<std::vector<JobRecord>> FineTuneJobs::list(const Principal& who, const std::string& after, int64_t limit,
                                                     bool* has_more) {
  if (who.project_id.empty()) return std::unexpected(bad_request("Jobs belong to projects: list them with a project's key"));
  if (limit < 1 || limit > 100) return std::unexpected(bad_request("limit must be between 1 and 100", "limit"));
  if (auto project = platform_.visible_project(who, who.project_id); !project) return std::unexpected(project.error());
  auto jobs = platform_.store().list_jobs(who.project_id, after, limit + 1);
  if (!jobs) return std::unexpected(server_error(jobs.error()));
  *has_more = static_cast<int64_t>(jobs->size()) > limit;
  if (*has_more) jobs->pop_back();
  return std::move(*jobs);
}

ApiResult<JobRecord> FineTuneJobs::cancel(const Principal& who, const std::string& origin, const std::string& id) {
  auto visible = get(who, id);
  if (!visible) return std::unexpected(visible.error());
  if (!who.can_write()) return std::unexpected(forbidden("A viewer key cannot cancel fine-tuning jobs"));
  std::lock_guard lock(mutex_);
  auto fresh = platform_.store().get_job(id);  // the runner may have moved it on
  if (!fresh || !*fresh) return std::unexpected(server_error(fresh ? Error{"job vanished"} : fresh.error()));
  JobRecord job = **fresh;
  if (job_finished(job.status)) {
    return std::unexpected(bad_request(fmt::format("Job {} has already {}", id, job_status_name(job.status)), "",
                                       "job_already_finished"));
  }
  if (auto it = running_.find(id); it != running_.end()) {
    executor_.cancel(it->second.handle, 3.0);
    if (JobPoll last = executor_.poll(it->second.handle); last.elapsed_seconds >= 0) it->second.last = last;
    charge_attempt(job, it->second);
    running_.erase(it);
  }
  job.status = JobStatus::cancelled;
  job.finished_at = platform_.now();
  if (auto ok = platform_.store().update_job(job); !ok) return std::unexpected(server_error(ok.error()));
  (void)event(id, "Job was cancelled");
  drop_job_data(job);
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(work_dir(job)) / "out", ec);
  if (auto ok = platform_.audit(who, origin, job.project_id, "fine_tuning.job.cancel", id, "{}"); !ok) {
    return std::unexpected(server_error(ok.error()));
  }
  return job;
}

ApiResult<std::vector<JobEvent>> FineTuneJobs::events(const Principal& who, const std::string& id,
                                                      const std::string& after, int64_t limit, bool* has_more) {
  auto job = get(who, id);
  if (!job) return std::unexpected(job.error());
  if (limit < 1 || limit > 10000) return std::unexpected(bad_request("limit must be between 1 and 10000", "limit"));
  auto events = platform_.store().list_job_events(id, after, limit + 1);
  if (!events) return std::unexpected(server_error(events.error()));
  *has_more = static_cast<int64_t>(events->size()) > limit;
  if (*has_more) events->pop_back();
  return std::move(*events);
}

ApiResult<std::vector<JobCheckpoint>> FineTuneJobs::checkpoints(const Principal& who, const std::string& id) {
  auto job = get(who, id);
  if (!job) return std::unexpected(job.error());
  auto list = platform_.store().list_checkpoints(id);
  if (!list) return std::unexpected(server_error(list.error()));
  return std::move(*list);
}

void FineTuneJobs::cancel_project(const std::string& project_id) {
  std::lock_guard lock(mutex_);
  for (JobStatus status : {JobStatus::validating_files, JobStatus::queued, JobStatus::running}) {
    auto jobs = platform_.store().jobs_with_status(status);
    if (!jobs) continue;
    for (JobRecord job : *jobs) {
      if (job.project_id != project_id) continue;
      if (auto it = running_.find(job.id); it != running_.end()) {
        executor_.cancel(it->second.handle, 3.0);
        if (JobPoll last = executor_.poll(it->second.handle); last.elapsed_seconds >= 0) it->second.last = last;
        charge_attempt(job, it->second);
        running_.erase(it);
      }
      job.status = JobStatus::cancelled;
      job.finished_at = platform_.now();
      (void)platform_.store().update_job(job);
      drop_job_data(job);
      (void)event(job.id, "Job was cancelled: its project is being deleted");
    }
  }
}

void FineTuneJobs::charge_attempt(JobRecord& job, const Running& run) {
  if (executor_.detached()) {
    const JobPoll& p = run.last;
    if (p.elapsed_seconds >= 0 && p.cpus > 0) {
      UsageRecord u;
      u.project_id = job.project_id;
      u.allocation_id = job.allocation_id;
      u.job_id = job.id;
      u.core_hours = p.elapsed_seconds * p.cpus / 3600.0;
      u.gpu_hours = p.elapsed_seconds * p.gpus / 3600.0;
      u.ended_at = platform_.now();
      u.started_at = u.ended_at - static_cast<int64_t>(p.elapsed_seconds);
      if (u.core_hours > 0 || u.gpu_hours > 0) (void)platform_.record_usage(u);
      job.charged_core_hours += u.core_hours;
      job.charged_gpu_hours += u.gpu_hours;
      return;
    }
    if (p.state == JobState::queued) return;  // it never ran
  }
  charge(job, run.attempt_started, platform_.now(), run.cores);
}

void FineTuneJobs::drop_job_data(const JobRecord& job) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(work_dir(job)) / "data", ec);
}

double FineTuneJobs::charge(JobRecord& job, int64_t started, int64_t ended, int cores) {
  const double hours = static_cast<double>(std::max<int64_t>(ended - started, 0)) / 3600.0 * cores;
  UsageRecord u;
  u.project_id = job.project_id;
  u.allocation_id = job.allocation_id;
  u.job_id = job.id;
  u.core_hours = hours;
  u.started_at = started;
  u.ended_at = ended;
  if (hours > 0) (void)platform_.record_usage(u);
  job.charged_core_hours += hours;
  return hours;
}

}  // namespace officina
