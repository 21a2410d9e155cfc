// Streams a file to a temporary name beside its destination and renames it
// into place on commit(), so readers never see a half-written file and a
// failure leaves any earlier file at that path untouched.
// Not thread-safe; one writer per object.
#pragma once

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>

#include "base/error.h"

namespace officina {

class AtomicFile {
 public:
  // Creates PATH.tmp.<pid> with `mode` (less the umask; 0600 for secrets),
  // never through a symlink; fails with "PATH: <strerror>".
  static Result<AtomicFile> create(const std::string& path, unsigned mode = 0644);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file unless committed

  Result<void> write(std::span<const std::byte> data);
  Result<void> write(const void* data, size_t size) {
    return write(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
  }
  // Bytes written so far (the offset of the next write).
  size_t offset() const { return offset_; }
  // fsync, close and rename onto the destination.
  Result<void> commit();

 private:
  AtomicFile() = default;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string tmp_path_;
  size_t offset_ = 0;
};

}  // namespace officina
