#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace officina {

Result<AtomicFile> AtomicFile::create(const std::string& path, unsigned mode) {
  AtomicFile out;
  out.path_ = path;
  out.tmp_path_ = path + ".tmp." + std::to_string(::getpid());
  // A leftover of a crashed writer with this pid goes first; then the file
  // is made afresh, never through a symlink planted at its name.
  ::unlink(out.tmp_path_.c_str());
  const int fd = ::open(out.tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd < 0) return fail("{}: {}", path, std::strerror(errno));
  out.file_ = ::fdopen(fd, "wb");
  if (!out.file_) {
    ::close(fd);
    return fail("{}: {}", path, std::strerror(errno));
  }
  return out;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : file_(other.file_), path_(std::move(other.path_)), tmp_path_(std::move(other.tmp_path_)),
      offset_(other.offset_) {
  other.file_ = nullptr;
  other.tmp_path_.clear();
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    ::unlink(tmp_path_.c_str());
  }
}

Result<void> AtomicFile::write(std::span<const std::byte> data) {
  if (!file_) return fail("{}: write after commit", path_);
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), file_) != data.size())
    return fail("{}: write failed: {}", tmp_path_, std::strerror(errno));
  offset_ += data.size();
  return {};
}

Result<void> AtomicFile::commit() {
  if (!file_) return fail("{}: already committed", path_);
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  int e = errno;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) {
    ::unlink(tmp_path_.c_str());
    return fail("{}: {}", tmp_path_, std::strerror(e));
  }
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    e = errno;
    ::unlink(tmp_path_.c_str());
    return fail("{}: rename failed: {}", path_, std::strerror(e));
  }
  return {};
}

}  // namespace officina
