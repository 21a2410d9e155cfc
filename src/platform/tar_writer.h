// A POSIX ustar archive writer (the format `tar` reads everywhere): a
// 512-byte header per regular file, its bytes padded to 512, two zero blocks
// at the end. Names up to 255 bytes (split into prefix and name as ustar
// allows), files up to 8 GiB (the 11-digit octal size field).
// Thread-safety: one writer per archive.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace officina {

class TarWriter {
 public:
  // Bytes go to `sink` as they are produced; a false return stops the archive.
  explicit TarWriter(std::function<bool(std::string_view)> sink) : sink_(std::move(sink)) {}

  // One file of `size` bytes, whose content `fill` writes through the given
  // callback (exactly `size` bytes; fewer or more fail the archive).
  Result<void> add(const std::string& name, uint64_t size, int64_t mtime,
                   const std::function<Result<void>(const std::function<bool(std::string_view)>&)>& fill);
  Result<void> add(const std::string& name, std::string_view content, int64_t mtime);
  // The closing blocks; the archive is complete after this.
  Result<void> finish();

 private:
  bool emit(std::string_view bytes);
  std::function<bool(std::string_view)> sink_;
  bool failed_ = false;
};

}  // namespace officina
