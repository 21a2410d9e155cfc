// GGUF v3 writer: collects metadata and tensors, then streams one file
// through AtomicFile (a failed write leaves any earlier file untouched).
// The layout is the one GgufFile reads (see gguf_file.h): header, metadata in
// insertion order, tensor infos in insertion order, then tensor data, each
// tensor starting at a multiple of `general.alignment` (default 32) and
// padded with zero bytes. Writing what GgufFile read reproduces the file
// byte for byte when it was laid out this way (officina's and llama.cpp's
// writers both do).
// Not thread-safe; one writer per object. Borrowed tensor bytes must stay
// alive until write() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "formats/gguf_file.h"
#include "formats/gguf_value.h"
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace officina {

class GgufWriter {
 public:
  // Sets KEY, replacing an earlier value in place (its position is kept);
  // new keys go after the existing ones. Values are checked by write().
  void set(std::string key, GgufValue value);
  // Removes KEY if present.
  void remove(std::string_view key);
  const GgufValue* find(std::string_view key) const;
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  // Copies every metadata entry of `file` in its order (set() semantics).
  void copy_metadata(const GgufFile& file);

  // Adds a tensor of row-major `shape` ([rows, cols], outermost first; 1 to 4
  // dims, each > 0, innermost a multiple of the type's block size) whose
  // `bytes` the caller keeps alive until write(). Fails with "tensor 'NAME':
  // ..." for a duplicate or empty name, a bad shape, or a byte count that
  // does not match the shape.
  Result<void> add_tensor(std::string name, DType dtype, std::span<const int64_t> shape,
                          std::span<const std::byte> bytes);
  // The same, taking ownership of the bytes.
  Result<void> add_tensor_owned(std::string name, DType dtype, std::span<const int64_t> shape,
                                std::vector<std::byte> bytes);
  // Borrows a view (for example one of GgufFile::tensors()).
  Result<void> add_tensor(std::string name, const TensorView& view);
  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file. Fails with "PATH: ..." on I/O errors and "PATH: metadata
  // 'KEY' ..." for an invalid value (type/value mismatch, bad alignment).
  Result<void> write(const std::string& path) const;
  // The same bytes in memory (tests and fuzz seeds; copies the tensors).
  Result<std::vector<std::byte>> to_bytes() const;

 private:
  struct Tensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // row-major
    std::span<const std::byte> bytes;
    std::vector<std::byte> owned;  // backs `bytes` when owned
  };
  using Sink = std::function<Result<void>(std::span<const std::byte>)>;

  Result<uint64_t> alignment(std::string_view where) const;
  Result<void> emit(const Sink& sink, std::string_view where) const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace officina
