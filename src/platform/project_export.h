// Export of everything a project holds, as a tar archive the tenant can take
// elsewhere (data sovereignty):
//   project.json          the project, its organisation, keys (no hashes),
//                         allocations and usage
//   files.json            the file records; files/FILE-ID/NAME the plaintext
//   fine_tuning.json      the jobs with their events and checkpoints
//   models.json           the fine-tuned models; models/NAME.gguf each
//                         adapter as a GGUF LoRA (decrypted)
//   audit.json            the audit entries about the project
// Only the project's owner or the operator may export; the export itself is
// audited ("project.export").
// Thread-safety: as Platform; the archive goes to one TarWriter.
#pragma once

#include <string>

#include "platform/file_service.h"
#include "platform/platform.h"
#include "platform/tar_writer.h"

namespace officina {

// Checks that `who` may export project `id` (404/403 otherwise).
ApiResult<Project> check_export(Platform& platform, const Principal& who, const std::string& project_id);
// Writes the archive; storage and decryption errors end it with an Error.
Result<void> export_project(Platform& platform, FileService& files, const Principal& who, const std::string& origin,
                            const std::string& project_id, TarWriter& tar);

}  // namespace officina
