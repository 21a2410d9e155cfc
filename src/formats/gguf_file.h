// GGUF v2/v3 reader. Layout (little-endian):
//   magic "GGUF", u32 version, u64 tensor_count, u64 kv_count,
//   kv_count × (string key, u32 type, value), tensor_count × (string name,
//   u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml_type, u64 offset),
//   padding to `general.alignment` (default 32), tensor data.
// Strings are u64 length + bytes; a value is one of the 13 GgufTypes, an
// ARRAY being u32 element type + u64 count + items (arrays may nest).
// Every length and count is checked against the bytes left before anything
// is allocated; tensors have 1 to 4 dims, each > 0, the innermost a multiple
// of the type's block size, data [data_start + offset, + bytes) inside the
// file with offset a multiple of the alignment (a power of two). Duplicate
// keys or tensor names, unknown types and version 1 files are errors.
// Tensors are zero-copy views into the mmap (read-only, so overlapping
// ranges are not refused).
// Errors are one line: "FILE: PLACE at byte N: PROBLEM".
// Thread-safety: immutable after open(); copies share the mapping.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "formats/gguf_value.h"
#include "tensor/tensor_view.h"

namespace officina {

struct GgufTensorInfo {
  std::string name;
  TensorView view;     // shape row-major (outermost first), data in the mapping
  uint64_t offset = 0; // relative to the start of the data section
};

class GgufFile {
 public:
  // Opens and validates a file. Errors name the file and the place:
  // "model.gguf: bad magic", "model.gguf: tensor 'blk.0.attn_q.weight': data
  // [off, off+n) beyond end of file (size N)", "... unknown tensor type 99".
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes already in memory (kept alive by the caller); `where` names
  // them in errors. Used by open() and by the fuzzer.
  static Result<GgufFile> parse(std::span<const std::byte> bytes, std::string where);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string& where() const { return where_; }
  // Byte offset of the tensor data section (tensor offsets are relative to
  // it) and the size of the whole file.
  uint64_t data_start() const { return data_start_; }
  uint64_t file_size() const { return size_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups; "FILE: metadata 'KEY' missing" when absent.
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<std::string> get_string(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<const GgufArray*> get_array(std::string_view key) const;
  // The fallback when the key is absent; an error when it has the wrong type.
  Result<int64_t> get_int_or(std::string_view key, int64_t fallback) const;
  Result<double> get_float_or(std::string_view key, double fallback) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller's bytes
  std::string where_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  uint64_t size_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t, std::less<>> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace officina
