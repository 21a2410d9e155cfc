#include "formats/gguf_file.h"

#include <bit>
#include <cstring>
#include <fmt/ranges.h>
#include <limits>

namespace officina {

static_assert(std::endian::native == std::endian::little, "GGUF reading assumes a little-endian host");

namespace {

constexpr uint32_t kMaxDims = 4;

// Reads the file front to back. Every read checks the bytes left first, and
// every count is compared with the bytes left before anything is allocated,
// so a corrupt count fails at once instead of reserving memory.
class GgufCursor {
 public:
  GgufCursor(std::span<const std::byte> bytes, const std::string& where) : bytes_(bytes), where_(where) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }

  // "FILE: PLACE at byte N: MESSAGE" -- one line naming file, place, problem.
  template <class... Args>
  std::unexpected<Error> error(std::string_view place, uint64_t at, fmt::format_string<Args...> format,
                               Args&&... args) const {
    return fail("{}: {} at byte {}: {}", where_, place, at, fmt::format(format, std::forward<Args>(args)...));
  }

  template <class T>
  Result<T> read(std::string_view place, std::string_view what) {
    if (left() < sizeof(T))
      return error(place, pos_, "file ends while reading {} ({} bytes needed, {} left)", what, sizeof(T), left());
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::string> read_string(std::string_view place, std::string_view what) {
    uint64_t at = pos_;
    OFFICINA_TRY(uint64_t length, read<uint64_t>(place, fmt::format("the length of {}", what)));
    if (length > left())
      return error(place, at, "{} has length {}, more than the {} bytes left in the file", what, length, left());
    std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(length));
    pos_ += length;
    return text;
  }

  Result<GgufValue> read_value(GgufType type, std::string_view place, int depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufType::UINT8: return read_unsigned<uint8_t>(v, place);
      case GgufType::UINT16: return read_unsigned<uint16_t>(v, place);
      case GgufType::UINT32: return read_unsigned<uint32_t>(v, place);
      case GgufType::UINT64: return read_unsigned<uint64_t>(v, place);
      case GgufType::INT8: return read_signed<int8_t>(v, place);
      case GgufType::INT16: return read_signed<int16_t>(v, place);
      case GgufType::INT32: return read_signed<int32_t>(v, place);
      case GgufType::INT64: return read_signed<int64_t>(v, place);
      case GgufType::FLOAT32: {
        OFFICINA_TRY(float f, read<float>(place, "a FLOAT32 value"));
        v.value = double{f};
        return v;
      }
      case GgufType::FLOAT64: {
        OFFICINA_TRY(double d, read<double>(place, "a FLOAT64 value"));
        v.value = d;
        return v;
      }
      case GgufType::BOOL: {
        uint64_t at = pos_;
        OFFICINA_TRY(uint8_t b, read<uint8_t>(place, "a BOOL value"));
        if (b > 1) return error(place, at, "BOOL value is {}, expected 0 or 1", b);
        v.value = b == 1;
        return v;
      }
      case GgufType::STRING: {
        OFFICINA_TRY(std::string s, read_string(place, "a STRING value"));
        v.value = std::move(s);
        return v;
      }
      case GgufType::ARRAY: return read_array(v, place, depth);
    }
    return error(place, pos_, "unknown value type {}", static_cast<uint32_t>(type));
  }

 private:
  template <class T>
  Result<GgufValue> read_unsigned(GgufValue& v, std::string_view place) {
    OFFICINA_TRY(T x, read<T>(place, fmt::format("a {} value", gguf_type_name(v.type))));
    v.value = uint64_t{x};
    return std::move(v);
  }
  template <class T>
  Result<GgufValue> read_signed(GgufValue& v, std::string_view place) {
    OFFICINA_TRY(T x, read<T>(place, fmt::format("a {} value", gguf_type_name(v.type))));
    v.value = int64_t{x};
    return std::move(v);
  }

  Result<GgufValue> read_array(GgufValue& v, std::string_view place, int depth) {
    uint64_t at = pos_;
    if (depth >= kGgufMaxArrayDepth) return error(place, at, "arrays nested deeper than {} levels", kGgufMaxArrayDepth);
    OFFICINA_TRY(uint32_t raw_type, read<uint32_t>(place, "an array's element type"));
    if (!gguf_type_valid(raw_type)) return error(place, at, "array of unknown value type {}", raw_type);
    auto element_type = static_cast<GgufType>(raw_type);
    OFFICINA_TRY(uint64_t count, read<uint64_t>(place, "an array's length"));
    // The smallest encoding of one item: its fixed size, a string's u64
    // length, or a nested array's u32 type + u64 count.
    uint64_t min_item = element_type == GgufType::STRING  ? 8
                        : element_type == GgufType::ARRAY ? 12
                                                          : gguf_type_size(element_type);
    if (count > left() / min_item)
      return error(place, at, "array of {} {} items needs at least {} bytes per item but only {} bytes are left",
                   count, gguf_type_name(element_type), min_item, left());
    GgufArray array;
    array.element_type = element_type;
    array.items.reserve(static_cast<size_t>(count));
    for (uint64_t n = 0; n < count; ++n) {
      OFFICINA_TRY(GgufValue item, read_value(element_type, place, depth + 1));
      array.items.push_back(std::move(item));
    }
    v.value = std::move(array);
    return std::move(v);
  }

  std::span<const std::byte> bytes_;
  const std::string& where_;
  uint64_t pos_ = 0;
};

// a * b, or nullopt-like false on overflow.
bool mul_ok(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

struct RawTensor {
  std::string name;
  uint64_t info_pos = 0;
  DType dtype = DType::F32;
  uint32_t ndim = 0;
  uint64_t dims[kMaxDims] = {};  // innermost first, as in the file
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

Result<RawTensor> read_tensor_info(GgufCursor& in, uint64_t index) {
  RawTensor t;
  t.info_pos = in.pos();
  std::string unnamed = fmt::format("tensor #{}", index);
  OFFICINA_TRY(t.name, in.read_string(unnamed, "the tensor name"));
  std::string place = fmt::format("tensor {}", quote_name(t.name));
  uint64_t at = in.pos();
  OFFICINA_TRY(t.ndim, in.read<uint32_t>(place, "the number of dimensions"));
  if (t.ndim < 1 || t.ndim > kMaxDims)
    return in.error(place, at, "{} dimensions, expected 1 to {}", t.ndim, kMaxDims);
  uint64_t elements = 1;
  for (uint32_t d = 0; d < t.ndim; ++d) {
    at = in.pos();
    OFFICINA_TRY(t.dims[d], in.read<uint64_t>(place, "a dimension"));
    if (t.dims[d] == 0) return in.error(place, at, "dimension {} is 0", d);
    if (!mul_ok(elements, t.dims[d], &elements) || elements > uint64_t(std::numeric_limits<int64_t>::max()))
      return in.error(place, at, "the element count overflows (dimensions so far: {})",
                      fmt::join(std::span(t.dims, d + 1), " x "));
  }
  at = in.pos();
  OFFICINA_TRY(uint32_t ggml_type, in.read<uint32_t>(place, "the tensor type"));
  auto dtype = dtype_from_ggml(ggml_type);
  if (!dtype) return in.error(place, at, "{}", dtype.error().message);
  t.dtype = *dtype;
  auto block = static_cast<uint64_t>(dtype_block_size(t.dtype));
  if (t.dims[0] % block != 0)
    return in.error(place, at, "innermost dimension {} is not a multiple of the {} block size {}", t.dims[0],
                    dtype_name(t.dtype), block);
  // elements / block blocks of block_bytes each; cannot overflow after the
  // check because block_bytes <= 4 * block for every type.
  if (!mul_ok(elements / block, static_cast<uint64_t>(dtype_block_bytes(t.dtype)), &t.bytes))
    return in.error(place, at, "the byte size overflows");
  OFFICINA_TRY(t.offset, in.read<uint64_t>(place, "the data offset"));
  return t;
}

}  // namespace

Result<GgufFile> GgufFile::open(const std::string& path) {
  OFFICINA_TRY(MappedFile mapped, MappedFile::open(path));
  auto file = std::make_shared<MappedFile>(std::move(mapped));
  OFFICINA_TRY(GgufFile gguf, parse(file->bytes(), path));
  gguf.file_ = std::move(file);
  return gguf;
}

Result<GgufFile> GgufFile::parse(std::span<const std::byte> bytes, std::string where) {
  GgufFile out;
  out.where_ = std::move(where);
  out.size_ = bytes.size();
  GgufCursor in(bytes, out.where_);

  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0)
    return fail("{}: not a GGUF file (bad magic; the file must start with \"GGUF\")", out.where_);
  OFFICINA_TRY(uint32_t magic [[maybe_unused]], in.read<uint32_t>("header", "the magic"));
  OFFICINA_TRY(out.version_, in.read<uint32_t>("header", "the version"));
  if (out.version_ == 1)
    return fail("{}: GGUF version 1 is not supported (re-convert the model with a current llama.cpp)", out.where_);
  if (out.version_ != 2 && out.version_ != 3) {
    if (out.version_ > 0xffff && std::byteswap(out.version_) <= 3)
      return fail("{}: GGUF file is big-endian (version {}); only little-endian files are supported", out.where_,
                  std::byteswap(out.version_));
    return fail("{}: unsupported GGUF version {} (expected 2 or 3)", out.where_, out.version_);
  }
  OFFICINA_TRY(uint64_t tensor_count, in.read<uint64_t>("header", "the tensor count"));
  OFFICINA_TRY(uint64_t kv_count, in.read<uint64_t>("header", "the metadata count"));
  // A key-value takes at least 13 bytes (u64 key length, u32 type, 1 byte),
  // a tensor info at least 32 (u64 name length, u32 n_dims, u64 dim, u32 type, u64 offset).
  if (kv_count > in.left() / 13)
    return in.error("header", 16, "metadata count {} is impossible: only {} bytes follow", kv_count, in.left());
  if (tensor_count > in.left() / 32)
    return in.error("header", 8, "tensor count {} is impossible: only {} bytes follow", tensor_count, in.left());

  out.metadata_.reserve(static_cast<size_t>(kv_count));
  for (uint64_t n = 0; n < kv_count; ++n) {
    uint64_t at = in.pos();
    OFFICINA_TRY(std::string key, in.read_string(fmt::format("metadata #{}", n), "the key"));
    std::string place = fmt::format("metadata {}", quote_name(key));
    if (out.metadata_index_.contains(key)) return in.error(place, at, "duplicate key");
    uint64_t type_at = in.pos();
    OFFICINA_TRY(uint32_t raw_type, in.read<uint32_t>(place, "the value type"));
    if (!gguf_type_valid(raw_type)) return in.error(place, type_at, "unknown value type {}", raw_type);
    OFFICINA_TRY(GgufValue value, in.read_value(static_cast<GgufType>(raw_type), place, 0));
    out.metadata_index_.emplace(key, out.metadata_.size());
    out.metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* a = out.find("general.alignment")) {
    auto alignment = a->as_int("general.alignment");
    if (!alignment) return wrap(alignment.error(), out.where_);
    if (*alignment <= 0 || !std::has_single_bit(static_cast<uint64_t>(*alignment)))
      return fail("{}: metadata 'general.alignment' is {}, expected a power of two", out.where_, *alignment);
    out.alignment_ = static_cast<uint64_t>(*alignment);
  }

  std::vector<RawTensor> raw;
  raw.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t n = 0; n < tensor_count; ++n) {
    OFFICINA_TRY(RawTensor t, read_tensor_info(in, n));
    if (out.tensor_index_.contains(t.name))
      return in.error(fmt::format("tensor {}", quote_name(t.name)), t.info_pos, "duplicate tensor name");
    out.tensor_index_.emplace(t.name, raw.size());
    raw.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment. With a
  // huge alignment this may lie past the end, which only matters if a
  // tensor needs data (the range check below catches it).
  uint64_t end_of_infos = in.pos();
  uint64_t size = bytes.size();
  uint64_t pad = (out.alignment_ - end_of_infos % out.alignment_) % out.alignment_;
  out.data_start_ = pad > std::numeric_limits<uint64_t>::max() - end_of_infos ? std::numeric_limits<uint64_t>::max()
                                                                              : end_of_infos + pad;
  out.tensors_.reserve(raw.size());
  for (const RawTensor& t : raw) {
    std::string place = fmt::format("tensor {}", quote_name(t.name));
    if (t.offset % out.alignment_ != 0)
      return in.error(place, t.info_pos, "data offset {} is not a multiple of the alignment {}", t.offset,
                      out.alignment_);
    if (out.data_start_ > size || t.offset > size - out.data_start_ || t.bytes > size - out.data_start_ - t.offset) {
      uint64_t begin = 0, end = 0;
      if (__builtin_add_overflow(out.data_start_, t.offset, &begin) || __builtin_add_overflow(begin, t.bytes, &end))
        return fail("{}: {}: data offset {} ({} bytes) lies beyond end of file (size {})", out.where_, place,
                    t.offset, t.bytes, size);
      return fail("{}: {}: data [{}, {}) beyond end of file (size {})", out.where_, place, begin, end, size);
    }
    GgufTensorInfo info;
    info.name = t.name;
    info.offset = t.offset;
    info.view.dtype = t.dtype;
    info.view.ndim = static_cast<int>(t.ndim);
    for (uint32_t d = 0; d < t.ndim; ++d) info.view.shape[d] = static_cast<int64_t>(t.dims[t.ndim - 1 - d]);
    info.view.data = bytes.data() + out.data_start_ + t.offset;
    out.tensors_.push_back(std::move(info));
  }
  return out;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
template <class T>
Result<T> with_where(Result<T> r, const std::string& where) {
  if (!r) return wrap(r.error(), where);
  return r;
}
}  // namespace

#define OFFICINA_GGUF_LOOKUP(key, accessor)                                   \
  const GgufValue* value = find(key);                                         \
  if (!value) return fail("{}: metadata {} missing", where_, quote_name(key));          \
  return with_where(value->accessor(key), where_)

Result<int64_t> GgufFile::get_int(std::string_view key) const { OFFICINA_GGUF_LOOKUP(key, as_int); }
Result<double> GgufFile::get_float(std::string_view key) const { OFFICINA_GGUF_LOOKUP(key, as_float); }
Result<std::string> GgufFile::get_string(std::string_view key) const { OFFICINA_GGUF_LOOKUP(key, as_string); }
Result<bool> GgufFile::get_bool(std::string_view key) const { OFFICINA_GGUF_LOOKUP(key, as_bool); }
Result<const GgufArray*> GgufFile::get_array(std::string_view key) const { OFFICINA_GGUF_LOOKUP(key, as_array); }

#undef OFFICINA_GGUF_LOOKUP

Result<int64_t> GgufFile::get_int_or(std::string_view key, int64_t fallback) const {
  if (!find(key)) return fallback;
  return get_int(key);
}

Result<double> GgufFile::get_float_or(std::string_view key, double fallback) const {
  if (!find(key)) return fallback;
  return get_float(key);
}

}  // namespace officina
