// The platform wired onto a running inference server: the file service,
// the local executor and the fine-tuning jobs, their HTTP routes, and the
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
#include "serve/server.h"

namespace officina {

struct PlatformServiceOptions {
  std::string model_path;    // the served base model (jobs train on it)
  std::string program;       // the officina executable (default: this process's)
  int64_t max_upload = int64_t{512} << 20;
  int total_job_cores = 1;   // cores the running jobs may hold together
  int cores_per_job = 1;
  int max_running_per_project = 1;
  int64_t job_memory_mb = 0;
  int64_t save_every = 5;
  double poll_seconds = 0.25;
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
  LocalExecutor executor_;
  std::unique_ptr<FineTuneJobs> jobs_;
  std::mutex fds_mutex_;
  std::map<std::string, int> adapter_fds_;  // memory files the registry loads adapters from
};

}  // namespace officina
