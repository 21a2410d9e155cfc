// Safetensors reader and writer. Layout:
//   u64 little-endian N, N bytes of UTF-8 JSON (may end in spaces), data.
// The JSON object maps each tensor name to {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]} (offsets relative to the data section,
// row-major shape, outermost first) and may hold "__metadata__", a map of
// strings to strings. Every tensor's range must lie inside the data section,
// match shape x element size, and not overlap another tensor's range.
// F32, F16 and BF16 tensors become TensorViews into the mapping (zero-copy);
// other dtypes (BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F64, F8_*) are
// listed with their name and bytes, and asking for their view is an error.
// Thread-safety: immutable after open(); share freely.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "tensor/tensor_view.h"

namespace officina {

// Headers larger than this are refused before reading them (HF uses the same cap).
inline constexpr uint64_t kSafetensorsMaxHeader = uint64_t{100} << 20;

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;          // as in the file: "F32", "I64", ...
  std::optional<DType> dtype;      // empty when officina has no DType for it
  std::vector<int64_t> shape;      // row-major; may be empty (a scalar) or hold 0
  uint64_t begin = 0, end = 0;     // data_offsets, relative to the data section
  std::span<const std::byte> bytes;
  TensorView view;                 // valid() only when has_view()

  // True for F32/F16/BF16 with at most 4 dims.
  bool has_view() const { return view.valid(); }
};

class SafetensorsFile {
 public:
  // Maps and validates a file. Errors name the file and the place:
  // "x.safetensors: header length 99999 is beyond the end of the file (size 100)",
  // "x.safetensors: tensor 'w': data_offsets [0, 12) hold 12 bytes but F32 [2, 2] needs 16".
  static Result<SafetensorsFile> open(const std::string& path);
  // Parses bytes kept alive by the caller; `where` names them in errors.
  static Result<SafetensorsFile> parse(std::span<const std::byte> bytes, std::string where);

  const std::string& where() const { return where_; }
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }
  // Tensors in data order (ascending begin offset).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  // Null when absent.
  const SafetensorsTensor* find(std::string_view name) const;
  // The tensor's view; "FILE: tensor 'NAME' missing", or "FILE: tensor 'NAME'
  // has dtype I64, which officina cannot use as a tensor (F32, F16, BF16 only)".
  Result<TensorView> view(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller's bytes
  std::string where_;
  std::map<std::string, std::string, std::less<>> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// One tensor to write: row-major shape, bytes the caller keeps alive.
struct SafetensorsWriteTensor {
  std::string name;
  DType dtype = DType::F32;  // F32, F16 or BF16
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;
};

// Writes a safetensors file through AtomicFile the way Hugging Face's library
// does: tensors ordered by element size (largest first, so every tensor stays
// aligned to its element size) then by name, laid out back to back; the JSON
// header starts with "__metadata__" (when given) and is padded with spaces to
// a multiple of 8 bytes. Fails with "PATH: tensor 'NAME': ..." for a
// duplicate name, a quantized dtype, or bytes that do not match the shape.
Result<void> write_safetensors(const std::string& path, std::span<const SafetensorsWriteTensor> tensors,
                               const std::map<std::string, std::string>& metadata = {});
// The same bytes in memory (tests and fuzz seeds).
Result<std::vector<std::byte>> safetensors_bytes(std::span<const SafetensorsWriteTensor> tensors,
                                                 const std::map<std::string, std::string>& metadata = {});

}  // namespace officina
