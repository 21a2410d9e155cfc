// The platform's HTTP API, mounted on the inference server (officina serve
// --data-dir DIR). Every route needs a key of the instance's store; errors are
// OpenAI-shaped. Routes (operator-only ones marked *):
//   POST* /v1/organizations {"name","kind"}      GET /v1/organizations[/{id}]
//   POST* /v1/organizations/{id}/projects {"name"}  GET /v1/organizations/{id}/projects
//   GET /v1/projects[/{id}]                      DELETE /v1/projects/{id} -> deletion receipt
//   POST* /v1/projects/{id}/allocations {"tier","core_hours","gpu_hours"?,"starts_at","ends_at"}
//   GET /v1/projects/{id}/allocations            GET /v1/projects/{id}/usage
//   POST /v1/projects/{id}/api_keys {"role","expires_at"?} -> {..., "key"} (owner or operator)
//   GET /v1/projects/{id}/api_keys               GET/DELETE /v1/api_keys/{id} (DELETE revokes)
//   POST* /v1/api_keys {"role": "operator"}      GET* /v1/api_keys (operator keys)
//   GET* /v1/audit?after=SEQ&limit=N             GET* /v1/audit/verify
//   POST /v1/files (multipart: file, purpose "fine-tune"; streamed, size-limited)
//   GET /v1/files[?after&limit]  GET/DELETE /v1/files/{id}  GET /v1/files/{id}/content
//   GET /v1/projects/{id}/export (owner or operator): everything the project holds, as a tar
//   POST /v1/fine_tuning/jobs    GET /v1/fine_tuning/jobs[?after&limit]   GET /v1/fine_tuning/jobs/{id}
//   POST /v1/fine_tuning/jobs/{id}/cancel    GET /v1/fine_tuning/jobs/{id}/events[?after&limit]
//   GET /v1/fine_tuning/jobs/{id}/checkpoints    DELETE /v1/models/{name} (a fine-tuned model)
// Thread-safety: handlers run on the server's HTTP threads; Platform is
// thread-safe.
#pragma once

#include <functional>

#include "platform/file_service.h"
#include "platform/fine_tune_jobs.h"
#include "platform/platform.h"
#include "serve/server.h"

namespace officina {

// The server's authenticator for `platform`'s keys.
Authenticator platform_authenticator(Platform& platform);
struct PlatformApiParts {
  FileService* files = nullptr;  // the /v1/files routes
  FineTuneJobs* jobs = nullptr;  // the /v1/fine_tuning routes
  // DELETE /v1/models/{name}: the deletion's JSON body, or an error.
  std::function<ApiResult<nlohmann::ordered_json>(const Principal&, const std::string& origin, const std::string& name)>
      delete_model;
};

// Adds the routes above to `server` (before bind()); the files, jobs and
// model-deletion routes only with their parts. Everything given must outlive
// the server.
void mount_platform_api(Server& server, Platform& platform, const PlatformApiParts& parts = {});

}  // namespace officina
