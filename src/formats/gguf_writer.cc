#include "formats/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/ranges.h>

#include "base/atomic_file.h"

namespace officina {

static_assert(std::endian::native == std::endian::little, "GGUF writing assumes a little-endian host");

namespace {

constexpr uint64_t kDefaultAlignment = 32;
// Padding is written as zeros; an absurd alignment would write absurd
// amounts of them, so the writer refuses more than this.
constexpr uint64_t kMaxWriteAlignment = uint64_t{1} << 20;
constexpr uint32_t kMaxDims = 4;

// Appends little-endian encodings to a buffer.
class Encoder {
 public:
  template <class T>
  void put(T value) {
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    buffer_.insert(buffer_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    buffer_.insert(buffer_.end(), p, p + s.size());
  }
  // The value without its type tag (arrays carry their element type).
  void put_value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::UINT8: put<uint8_t>(static_cast<uint8_t>(std::get<uint64_t>(v.value))); break;
      case GgufType::UINT16: put<uint16_t>(static_cast<uint16_t>(std::get<uint64_t>(v.value))); break;
      case GgufType::UINT32: put<uint32_t>(static_cast<uint32_t>(std::get<uint64_t>(v.value))); break;
      case GgufType::UINT64: put<uint64_t>(std::get<uint64_t>(v.value)); break;
      case GgufType::INT8: put<int8_t>(static_cast<int8_t>(std::get<int64_t>(v.value))); break;
      case GgufType::INT16: put<int16_t>(static_cast<int16_t>(std::get<int64_t>(v.value))); break;
      case GgufType::INT32: put<int32_t>(static_cast<int32_t>(std::get<int64_t>(v.value))); break;
      case GgufType::INT64: put<int64_t>(std::get<int64_t>(v.value)); break;
      case GgufType::FLOAT32: put<float>(static_cast<float>(std::get<double>(v.value))); break;
      case GgufType::FLOAT64: put<double>(std::get<double>(v.value)); break;
      case GgufType::BOOL: put<uint8_t>(std::get<bool>(v.value) ? 1 : 0); break;
      case GgufType::STRING: put_string(std::get<std::string>(v.value)); break;
      case GgufType::ARRAY: {
        const auto& array = std::get<GgufArray>(v.value);
        put<uint32_t>(static_cast<uint32_t>(array.element_type));
        put<uint64_t>(array.items.size());
        for (const GgufValue& item : array.items) put_value(item);
        break;
      }
    }
  }
  uint64_t size() const { return buffer_.size(); }
  std::span<const std::byte> bytes() const { return buffer_; }

 private:
  std::vector<std::byte> buffer_;
};

uint64_t padding(uint64_t offset, uint64_t alignment) { return (alignment - offset % alignment) % alignment; }

Result<void> write_zeros(const std::function<Result<void>(std::span<const std::byte>)>& sink, uint64_t count) {
  static constexpr std::byte kZeros[4096] = {};
  while (count > 0) {
    uint64_t n = std::min<uint64_t>(count, sizeof(kZeros));
    OFFICINA_CHECK(sink(std::span(kZeros, n)));
    count -= n;
  }
  return {};
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::remove(std::string_view key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

const GgufValue* GgufWriter::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

void GgufWriter::copy_metadata(const GgufFile& file) {
  for (const auto& [key, value] : file.metadata()) set(key, value);
}

Result<void> GgufWriter::add_tensor(std::string name, DType dtype, std::span<const int64_t> shape,
                                    std::span<const std::byte> bytes) {
  if (name.empty()) return fail("tensor #{}: empty tensor name", tensors_.size());
  if (tensor_index_.contains(name)) return fail("tensor '{}': added twice", name);
  if (shape.empty() || shape.size() > kMaxDims)
    return fail("tensor '{}': {} dimensions, expected 1 to {}", name, shape.size(), kMaxDims);
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d <= 0) return fail("tensor '{}': shape [{}] has a dimension <= 0", name, fmt::join(shape, ", "));
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements) ||
        elements > uint64_t(std::numeric_limits<int64_t>::max()))
      return fail("tensor '{}': shape [{}] has too many elements", name, fmt::join(shape, ", "));
  }
  if (!dtype_row_ok(dtype, shape.back()))
    return fail("tensor '{}': innermost dimension {} is not a multiple of the {} block size {}", name, shape.back(),
                dtype_name(dtype), dtype_block_size(dtype));
  uint64_t expected = elements / static_cast<uint64_t>(dtype_block_size(dtype)) *
                      static_cast<uint64_t>(dtype_block_bytes(dtype));
  if (bytes.size() != expected)
    return fail("tensor '{}': {} bytes given but {} {} needs {}", name, bytes.size(), dtype_name(dtype),
                fmt::format("[{}]", fmt::join(shape, ", ")), expected);
  tensor_index_.emplace(name, tensors_.size());
  tensors_.push_back(Tensor{std::move(name), dtype, std::vector<int64_t>(shape.begin(), shape.end()), bytes, {}});
  return {};
}

Result<void> GgufWriter::add_tensor_owned(std::string name, DType dtype, std::span<const int64_t> shape,
                                          std::vector<std::byte> bytes) {
  OFFICINA_CHECK(add_tensor(std::move(name), dtype, shape, bytes));
  // The vector's heap buffer does not move with the vector, so the span set
  // above stays valid once the vector is stored.
  tensors_.back().owned = std::move(bytes);
  return {};
}

Result<void> GgufWriter::add_tensor(std::string name, const TensorView& view) {
  if (view.ndim < 1 || view.ndim > static_cast<int>(kMaxDims))
    return fail("tensor '{}': {} dimensions, expected 1 to {}", name, view.ndim, kMaxDims);
  for (int d = 0; d < view.ndim; ++d)
    if (view.shape[d] <= 0) return fail("tensor '{}': shape {} has a dimension <= 0", name, shape_string(view));
  if (!dtype_row_ok(view.dtype, view.cols()))
    return fail("tensor '{}': innermost dimension {} is not a multiple of the {} block size {}", name, view.cols(),
                dtype_name(view.dtype), dtype_block_size(view.dtype));
  std::span<const int64_t> shape(view.shape.data(), static_cast<size_t>(view.ndim));
  uint64_t elements = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
      return fail("tensor '{}': shape {} has too many elements", name, shape_string(view));
  uint64_t bytes = elements / static_cast<uint64_t>(dtype_block_size(view.dtype)) *
                   static_cast<uint64_t>(dtype_block_bytes(view.dtype));
  return add_tensor(std::move(name), view.dtype, shape, std::span(view.data, static_cast<size_t>(bytes)));
}

Result<uint64_t> GgufWriter::alignment(std::string_view where) const {
  const GgufValue* v = find("general.alignment");
  if (!v) return kDefaultAlignment;
  auto a = v->as_int("general.alignment");
  if (!a) return wrap(a.error(), where);
  if (*a <= 0 || !std::has_single_bit(static_cast<uint64_t>(*a)) || static_cast<uint64_t>(*a) > kMaxWriteAlignment)
    return fail("{}: metadata 'general.alignment' is {}, expected a power of two up to {}", where, *a,
                kMaxWriteAlignment);
  return static_cast<uint64_t>(*a);
}

Result<void> GgufWriter::emit(const Sink& sink, std::string_view where) const {
  OFFICINA_TRY(uint64_t align, alignment(where));
  Encoder header;
  header.put<uint32_t>(0x46554747);  // "GGUF"
  header.put<uint32_t>(3);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    auto ok = gguf_value_check(value, key);
    if (!ok) return fail("{}: metadata {}", where, ok.error().message);
    header.put_string(key);
    header.put<uint32_t>(static_cast<uint32_t>(value.type));
    header.put_value(value);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    header.put_string(t.name);
    header.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) header.put<uint64_t>(static_cast<uint64_t>(*it));
    header.put<uint32_t>(static_cast<uint32_t>(t.dtype));
    header.put<uint64_t>(offset);
    offset += t.bytes.size() + padding(t.bytes.size(), align);
  }
  OFFICINA_CHECK(sink(header.bytes()));
  OFFICINA_CHECK(write_zeros(sink, padding(header.size(), align)));
  for (const Tensor& t : tensors_) {
    OFFICINA_CHECK(sink(t.bytes));
    OFFICINA_CHECK(write_zeros(sink, padding(t.bytes.size(), align)));
  }
  return {};
}

Result<void> GgufWriter::write(const std::string& path) const {
  OFFICINA_TRY(AtomicFile out, AtomicFile::create(path));
  OFFICINA_CHECK(emit([&](std::span<const std::byte> bytes) { return out.write(bytes); }, path));
  return out.commit();
}

Result<std::vector<std::byte>> GgufWriter::to_bytes() const {
  std::vector<std::byte> out;
  OFFICINA_CHECK(emit(
      [&](std::span<const std::byte> bytes) -> Result<void> {
        out.insert(out.end(), bytes.begin(), bytes.end());
        return {};
      },
      "<memory>"));
  return out;
}

}  // namespace officina
