// The platform wired onto a running inference server: the file service,
// the job executor (local or Slurm) and the fine-tuning jobs, their HTTP routes, and the
// adapters jobs produce served by the server under their fine_tuned_model
// names (decrypted into memory files, visible to their project's keys only).
// DELETE /v1/models/{name} deletes a project's fine-tuned model (its key
// first). `officina serve --data-dir` builds one of these.
// Thread-safety: create/start/stop from one thread; the routes run on the
// server's threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "model/model.h"
#include "model/model_chat_template.h"
#include "platform/file_service.h"
#include "platform/fine_tune_jobs.h"
#include "platform/job_executor.h"
#include "platform/platform.h"
#include "platform/slurm_executor.h"
#include "serve/server.h"

namespace officina {

struct PlatformServiceOptions {
  std::string model_path;    // the served base model (jobs train on it)
  std::string program;       // the officina executable (default: this process's)
  int64_t max_upload = int64_t{512} << 20;
  int total_job_cores = 0;   // cores the running jobs may hold together (0: one job locally, no cap under Slurm)
  int cores_per_job = 1;
  int max_running_per_project = 1;
  int64_t job_memory_mb = 0;
  int64_t save_every = 5;
  double poll_seconds = 0.25;
  // "local" (child processes of the server) or "slurm" (sbatch; docs/slurm.md).
  std::string executor = "local";
  SlurmOptions slurm;
  std::string jobs_dir;              // default DATA/jobs; under Slurm a shared filesystem
  int64_t time_limit_minutes = 60;   // a job's time limit under Slurm unless it asks
  int max_requeues = 3;              // after TIMEOUT, from the last checkpoint
  std::string account_prefix;        // Slurm account = prefix + project id (empty: none)
};

class PlatformServices {
 public:
  // Mounts the platform API (tenancy, files, jobs, model deletion) on the
  // server. `platform`, `server` and `model` must outlive this object.
  static Result<std::unique_ptr<PlatformServices>> create(Platform& platform, Server& server, const Model& model,
                                                          PlatformServiceOptions options);
  ~PlatformServices();

  // Recovers interrupted jobs, serves the stored adapters, starts the runner.
  Result<void> start(bool run_thread = true);
  void stop();
  FileService& files() { return *files_; }
  FineTuneJobs& jobs() { return *jobs_; }

 private:
  PlatformServices(Platform& platform, Server& server) : platform_(platform), server_(server) {}
  Result<void> serve_adapter(const AdapterRecord& adapter, const SecretKey& key);
  void drop_adapter(const std::string& name);
  void mount_routes();

  Platform& platform_;
  Server& server_;
  ModelChatTemplate template_;
  std::unique_ptr<FileService> files_;
  std::unique_ptr<JobExecutor> executor_;
  std::unique_ptr<FineTuneJobs> jobs_;
  std::mutex fds_mutex_;
  std::map<std::string, int> adapter_fds_;  // memory files the registry loads adapters from
};

}  // namespace officina
