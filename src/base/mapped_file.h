// A read-only memory-mapped file. Model weights are used in place from the
// mapping (DESIGN: "weights stay where they are").
// Thread-safety: immutable after open(); share freely between threads.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/error.h"

namespace officina {

class MappedFile {
 public:
  // Fails with "PATH: <strerror>" when the file cannot be opened or mapped.
  // An empty file maps to an empty span.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole (small) file into a string; "PATH: <strerror>" on failure,
// "PATH: larger than LIMIT bytes" when it exceeds max_bytes.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes = 1ull << 30);

}  // namespace officina
