// Files of a project (OpenAI's /v1/files, purpose "fine-tune"): uploads are
// streamed through the fine-tuning JSONL check (errors name the line; token
// counts with the served model's tokenizer) into an encrypted file under
// DATA_DIR/files/PROJECT/, sealed with a key of its own that the project's
// data key wraps. A file becomes visible only once whole: it is written under
// a temporary name, renamed, and only then recorded in the store, so a crash
// mid-upload leaves nothing anyone can list (clean_orphans() removes the
// remains at start). Deleting a file wipes its key before its bytes.
// Thread-safety: every method may be called from any thread; one FileUpload
// belongs to one request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "platform/data_crypto.h"
#include "platform/finetune_file_check.h"
#include "platform/platform.h"

namespace officina {

class FileUpload {
 public:
  // Takes the next bytes; fails (413 past the size limit, 400 on a bad line)
  // and stays failed.
  ApiResult<void> write(std::string_view bytes);
  int64_t bytes() const { return bytes_; }

 private:
  friend class FileService;
  FileUpload(std::string id, std::string project_id, EncryptedFileWriter writer, FileCheckOptions check,
             std::vector<uint8_t> wrapped_key, int64_t max_bytes)
      : id_(std::move(id)), project_id_(std::move(project_id)), writer_(std::move(writer)), checker_(std::move(check)),
        wrapped_key_(std::move(wrapped_key)), max_bytes_(max_bytes) {}
  std::string id_, project_id_;
  EncryptedFileWriter writer_;
  FineTuneFileChecker checker_;
  std::vector<uint8_t> wrapped_key_;
  int64_t max_bytes_ = 0, bytes_ = 0;
  std::optional<ApiError> error_;
};

class FileService {
 public:
  FileService(Platform& platform, FileCheckOptions check, int64_t max_bytes);

  int64_t max_bytes() const { return max_bytes_; }
  // A new upload into `who`'s project (writers only).
  ApiResult<std::unique_ptr<FileUpload>> begin_upload(const Principal& who);
  // Checks the purpose and the end of the data, commits the file and records
  // it; the upload is spent either way.
  ApiResult<FileRecord> finish_upload(const Principal& who, const std::string& origin, std::unique_ptr<FileUpload> upload,
                                      const std::string& filename, const std::string& purpose);
  ApiResult<FileRecord> get(const Principal& who, const std::string& id);
  // Newest first; *has_more says whether another page follows.
  ApiResult<std::vector<FileRecord>> list(const Principal& who, const std::string& after, int64_t limit,
                                          bool* has_more);
  ApiResult<FileRecord> remove(const Principal& who, const std::string& origin, const std::string& id);
  // The plaintext (GET /v1/files/{id}/content).
  ApiResult<std::string> content(const Principal& who, const std::string& id);
  // The plaintext of a project's file in an anonymous memory file (never on
  // disk), for a training process to read as /proc/self/fd/N. The caller
  // closes the descriptor.
  Result<int> decrypt_to_memfd(const std::string& project_id, const std::string& file_id);
  // Removes temporary and unrecorded files left by a crash.
  Result<int> clean_orphans();

  static std::string file_context(const std::string& file_id) { return "officina file " + file_id; }
  std::string file_path(const std::string& project_id, const std::string& file_id) const;

 private:
  Platform& platform_;
  FileCheckOptions check_;
  int64_t max_bytes_;
};

// An anonymous memory file holding `bytes` (memfd), or an error.
Result<int> memfd_with(const std::string& name, std::span<const uint8_t> bytes);

}  // namespace officina
