#include "platform/platform_services.h"

#include <unistd.h>

#include <filesystem>

#include "platform/platform_api.h"
#include "platform/platform_errors.h"

namespace officina {
namespace {

std::string adapter_context(const std::string& name) { return "officina adapter " + name; }

std::string this_program() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("officina") : path.string();
}

}  // namespace

Result<std::unique_ptr<PlatformServices>> PlatformServices::create(Platform& platform, Server& server,
                                                                   const Model& model,
                                                                   PlatformServiceOptions options) {
  std::unique_ptr<PlatformServices> s(new PlatformServices(platform, server));
  OFFICINA_TRY(s->template_, model_chat_template(model, "", ""));
  FileCheckOptions check;
  check.tokenizer = &model.tokenizer();
  check.chat_template = &s->template_.tmpl;
  check.render = chat_render_options(model);
  check.seq_len = std::max<int64_t>(2, std::min<int64_t>(model.config().context_length, 8192));
  s->files_ = std::make_unique<FileService>(platform, check, options.max_upload);
  FineTuneJobsOptions jobs;
  jobs.program = options.program.empty() ? this_program() : options.program;
  jobs.base_model = options.model_path;
  jobs.base_name = server.base_name();
  jobs.context = model.config().context_length;
  jobs.total_cores = options.total_job_cores > 0 ? options.total_job_cores
                     : options.executor == "slurm"   ? (1 << 30)
                                                     : options.cores_per_job;
  jobs.cores_per_job = options.cores_per_job;
  jobs.max_running_per_project = options.max_running_per_project;
  jobs.memory_mb = options.job_memory_mb;
  jobs.save_every = options.save_every;
  jobs.poll_seconds = options.poll_seconds;
  jobs.jobs_dir = options.jobs_dir;
  jobs.time_limit_minutes = options.time_limit_minutes;
  jobs.max_requeues = options.max_requeues;
  jobs.account_prefix = options.account_prefix;
  if (options.executor == "local") {
    s->executor_ = std::make_unique<LocalExecutor>();
  } else if (options.executor == "slurm") {
    if (options.slurm.partition.empty()) return fail("--executor slurm needs --slurm-partition");
    if (options.jobs_dir.empty()) return fail("--executor slurm needs --slurm-workdir (a shared filesystem)");
    s->executor_ = std::make_unique<SlurmExecutor>(options.slurm);
  } else {
    return fail("unknown executor '{}': local or slurm", options.executor);
  }
  PlatformServices* self = s.get();
  s->jobs_ = std::make_unique<FineTuneJobs>(
      platform, *s->files_, *s->executor_, jobs,
      [self](const AdapterRecord& a, const SecretKey& key) { return self->serve_adapter(a, key); });
  platform.set_on_adapter_removed([self](const std::string& name) { self->drop_adapter(name); });
  platform.set_on_project_deleted([self](const std::string& project) { self->jobs_->cancel_project(project); });
  s->mount_routes();
  return s;
}

PlatformServices::~PlatformServices() {
  stop();
  platform_.set_on_adapter_removed(nullptr);
  platform_.set_on_project_deleted(nullptr);
  std::lock_guard lock(fds_mutex_);
  for (auto& [name, fd] : adapter_fds_) ::close(fd);
}

Result<void> PlatformServices::start(bool run_thread) { return jobs_->start(run_thread); }

void PlatformServices::stop() {
  if (jobs_) jobs_->stop();
}

Result<void> PlatformServices::serve_adapter(const AdapterRecord& a, const SecretKey& key) {
  const std::string path = (std::filesystem::path(platform_.data_dir()) / a.path).string();
  OFFICINA_TRY(std::string plain, decrypt_file_to_string(path, key, adapter_context(a.name), size_t{4} << 30));
  OFFICINA_TRY(int fd, memfd_with(a.name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(plain.data()),
                                                                    plain.size())));
  // The registry (re)loads the adapter from this path whenever it needs it.
  auto added = server_.adapters().add(a.name, fmt::format("/proc/{}/fd/{}", ::getpid(), fd), a.project_id);
  if (!added) {
    ::close(fd);
    return added;
  }
  std::lock_guard lock(fds_mutex_);
  adapter_fds_[a.name] = fd;
  return {};
}

void PlatformServices::drop_adapter(const std::string& name) {
  server_.adapters().remove(name);
  std::lock_guard lock(fds_mutex_);
  if (auto it = adapter_fds_.find(name); it != adapter_fds_.end()) {
    ::close(it->second);
    adapter_fds_.erase(it);
  }
}

void PlatformServices::mount_routes() {
  PlatformApiParts parts;
  parts.files = files_.get();
  parts.jobs = jobs_.get();
  parts.delete_model = [this](const Principal& who, const std::string& origin,
                              const std::string& name) -> ApiResult<nlohmann::ordered_json> {
    auto record = platform_.store().get_adapter(name);
    if (!record) return std::unexpected(server_error(record.error()));
    const bool visible = *record && (who.is_operator() || (*record)->project_id == who.project_id) &&
                         platform_.visible_project(who, (*record)->project_id).has_value();
    if (!visible) {
      return std::unexpected(ApiError{404, fmt::format("The model '{}' does not exist", name), "invalid_request_error",
                                      "model", "model_not_found"});
    }
    if (!who.can_write()) return std::unexpected(forbidden("A viewer key cannot delete models"));
    // The key goes first: from then on the stored bytes are noise.
    if (auto ok = platform_.store().delete_adapter(name); !ok) return std::unexpected(server_error(ok.error()));
    std::error_code ec;
    std::filesystem::remove(std::filesystem::path(platform_.data_dir()) / (*record)->path, ec);
    drop_adapter(name);
    nlohmann::ordered_json receipt{{"id", name}, {"object", "model"}, {"deleted", true},
                                   {"destroyed", {"adapter_key", "adapter_file", "served_copy"}}};
    if (auto ok = platform_.audit(who, origin, (*record)->project_id, "model.delete", name, receipt.dump()); !ok) {
      return std::unexpected(server_error(ok.error()));
    }
    return receipt;
  };
  mount_platform_api(server_, platform_, parts);
}

}  // namespace officina
