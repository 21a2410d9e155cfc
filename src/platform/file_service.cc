#include "platform/file_service.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "platform/api_key.h"
#include "platform/platform_errors.h"

namespace officina {
namespace fs = std::filesystem;

ApiResult<void> FileUpload::write(std::string_view bytes) {
  if (error_) return std::unexpected(*error_);
  bytes_ += static_cast<int64_t>(bytes.size());
  if (bytes_ > max_bytes_) {
    error_ = ApiError{413, fmt::format("The file is larger than the limit of {} bytes", max_bytes_),
                      "invalid_request_error", "file", "file_too_large"};
    return std::unexpected(*error_);
  }
  if (auto ok = checker_.feed(bytes); !ok) {
    error_ = bad_request("Invalid file for fine-tuning: " + ok.error().message, "file", "invalid_file_format");
    return std::unexpected(*error_);
  }
  if (auto ok = writer_.write(std::string_view(bytes)); !ok) {
    error_ = server_error(ok.error());
    return std::unexpected(*error_);
  }
  return {};
}

FileService::FileService(Platform& platform, FileCheckOptions check, int64_t max_bytes)
    : platform_(platform), check_(std::move(check)), max_bytes_(max_bytes) {}

std::string FileService::file_path(const std::string& project_id, const std::string& file_id) const {
  return (fs::path(platform_.data_dir()) / "files" / project_id / (file_id + ".enc")).string();
}

ApiResult<std::unique_ptr<FileUpload>> FileService::begin_upload(const Principal& who) {
  if (who.project_id.empty()) {
    return std::unexpected(bad_request("Files belong to projects: upload with a project's key"));
  }
  if (auto project = platform_.visible_project(who, who.project_id); !project) {
    return std::unexpected(project.error());
  }
  if (!who.can_write()) return std::unexpected(forbidden("A viewer key cannot upload files"));
  const std::string id = "file-" + random_hex(12);
  const std::string path = file_path(who.project_id, id);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return std::unexpected(server_error(Error{fmt::format("{}: {}", path, ec.message())}));
  fs::permissions(fs::path(platform_.data_dir()) / "files", fs::perms::owner_all, fs::perm_options::replace, ec);
  auto key = platform_.new_object_key(who.project_id, file_context(id));
  if (!key) return std::unexpected(server_error(key.error()));
  auto writer = EncryptedFileWriter::create(path, key->first, file_context(id));
  if (!writer) return std::unexpected(server_error(writer.error()));
  return std::unique_ptr<FileUpload>(
      new FileUpload(id, who.project_id, std::move(*writer), check_, std::move(key->second), max_bytes_));
}

ApiResult<FileRecord> FileService::finish_upload(const Principal& who, const std::string& origin,
                                                 std::unique_ptr<FileUpload> upload, const std::string& filename,
                                                 const std::string& purpose) {
  if (upload->error_) return std::unexpected(*upload->error_);
  if (purpose != "fine-tune") {
    return std::unexpected(bad_request(
        fmt::format("purpose '{}' is not supported: officina stores files for fine-tuning, purpose \"fine-tune\"",
                    purpose),
        "purpose", "invalid_purpose"));
  }
  if (filename.empty() || filename.size() > 256) {
    return std::unexpected(bad_request("the file needs a name of 1 to 256 characters", "file"));
  }
  auto report = upload->checker_.finish();
  if (!report) {
    return std::unexpected(
        bad_request("Invalid file for fine-tuning: " + report.error().message, "file", "invalid_file_format"));
  }
  if (auto ok = upload->writer_.commit(); !ok) return std::unexpected(server_error(ok.error()));
  FileRecord f;
  f.id = upload->id_;
  f.project_id = upload->project_id_;
  f.filename = filename;
  f.purpose = purpose;
  f.bytes = upload->bytes_;
  f.created_at = platform_.now();
  f.report = report->to_json().dump();
  f.wrapped_key = upload->wrapped_key_;
  if (auto ok = platform_.store().insert_file(f); !ok) {
    std::error_code ec;
    fs::remove(file_path(f.project_id, f.id), ec);
    return std::unexpected(server_error(ok.error()));
  }
  nlohmann::json detail{{"filename", filename}, {"bytes", f.bytes}, {"purpose", purpose}};
  if (auto ok = platform_.audit(who, origin, f.project_id, "file.create", f.id, detail.dump()); !ok) {
    return std::unexpected(server_error(ok.error()));
  }
  return f;
}

ApiResult<FileRecord> FileService::get(const Principal& who, const std::string& id) {
  auto file = platform_.store().get_file(id);
  if (!file) return std::unexpected(server_error(file.error()));
  const bool visible = *file && !(*file)->deleted_at && (who.is_operator() || (*file)->project_id == who.project_id);
  if (!visible) return std::unexpected(not_found(fmt::format("No such File object: {}", id)));
  if (auto project = platform_.visible_project(who, (*file)->project_id); !project) {
    return std::unexpected(not_found(fmt::format("No such File object: {}", id)));
  }
  return **file;
}

ApiResult<std::vector<FileRecord>> FileService::list(const Principal& who, const std::string& after, int64_t limit,
                                                     bool* has_more) {
  if (who.project_id.empty()) return std::unexpected(bad_request("Files belong to projects: list with a project's key"));
  if (limit < 1 || limit > 10000) return std::unexpected(bad_request("limit must be between 1 and 10000", "limit"));
  if (auto project = platform_.visible_project(who, who.project_id); !project) return std::unexpected(project.error());
  auto files = platform_.store().list_files(who.project_id, after, limit + 1);
  if (!files) return std::unexpected(server_error(files.error()));
  *has_more = static_cast<int64_t>(files->size()) > limit;
  if (*has_more) files->pop_back();
  return std::move(*files);
}

ApiResult<FileRecord> FileService::remove(const Principal& who, const std::string& origin, const std::string& id) {
  auto file = get(who, id);
  if (!file) return std::unexpected(file.error());
  if (!who.can_write()) return std::unexpected(forbidden("A viewer key cannot delete files"));
  // The key first: once it is gone the bytes are noise, whatever remains on disk.
  auto done = platform_.store().delete_file(id, platform_.now());
  if (!done) return std::unexpected(server_error(done.error()));
  std::error_code ec;
  fs::remove(file_path(file->project_id, id), ec);
  if (auto ok = platform_.audit(who, origin, file->project_id, "file.delete", id, R"({"destroyed": ["file_key", "file"]})");
      !ok) {
    return std::unexpected(server_error(ok.error()));
  }
  return *file;
}

ApiResult<std::string> FileService::content(const Principal& who, const std::string& id) {
  auto file = get(who, id);
  if (!file) return std::unexpected(file.error());
  auto key = platform_.open_object_key(file->project_id, file->wrapped_key, file_context(id));
  if (!key) return std::unexpected(server_error(key.error()));
  auto text = decrypt_file_to_string(file_path(file->project_id, id), *key, file_context(id),
                                     static_cast<size_t>(max_bytes_));
  if (!text) return std::unexpected(server_error(text.error()));
  return std::move(*text);
}

Result<int> memfd_with(const std::string& name, std::span<const uint8_t> bytes) {
  const int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) return fail("memfd_create: {}", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail("writing a memory file: {}", std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

Result<int> FileService::decrypt_to_memfd(const std::string& project_id, const std::string& file_id) {
  OFFICINA_TRY(auto file, platform_.store().get_file(file_id));
  if (!file || file->deleted_at || file->project_id != project_id) return fail("no file {} in project {}", file_id, project_id);
  OFFICINA_TRY(SecretKey key, platform_.open_object_key(project_id, file->wrapped_key, file_context(file_id)));
  const int fd = ::memfd_create(file_id.c_str(), MFD_CLOEXEC);
  if (fd < 0) return fail("memfd_create: {}", std::strerror(errno));
  auto ok = decrypt_file(file_path(project_id, file_id), key, file_context(file_id),
                         [fd](std::span<const uint8_t> chunk) -> Result<void> {
                           size_t done = 0;
                           while (done < chunk.size()) {
                             const ssize_t n = ::write(fd, chunk.data() + done, chunk.size() - done);
                             if (n < 0 && errno == EINTR) continue;
                             if (n < 0) return fail("writing a memory file: {}", std::strerror(errno));
                             done += static_cast<size_t>(n);
                           }
                           return {};
                         });
  if (!ok) {
    ::close(fd);
    return std::unexpected(ok.error());
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

Result<int> FileService::clean_orphans() {
  const fs::path root = fs::path(platform_.data_dir()) / "files";
  std::error_code ec;
  if (!fs::exists(root, ec)) return 0;
  int removed = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    bool orphan = name.find(".tmp") != std::string::npos;
    if (!orphan && name.ends_with(".enc")) {
      OFFICINA_TRY(auto file, platform_.store().get_file(name.substr(0, name.size() - 4)));
      orphan = !file || file->deleted_at.has_value();
    }
    if (orphan) {
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

}  // namespace officina
