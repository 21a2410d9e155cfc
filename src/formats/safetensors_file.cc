#include "formats/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/ranges.h>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "formats/gguf_value.h"

namespace officina {

namespace {

struct SafetensorsDTypeInfo {
  std::string_view name;
  uint64_t element_bytes;
  std::optional<DType> dtype;
};

// The dtypes of the safetensors format. Only the float types officina
// computes with map to a DType.
constexpr SafetensorsDTypeInfo kDTypes[] = {
    {"F32", 4, DType::F32},  {"F16", 2, DType::F16},  {"BF16", 2, DType::BF16},  {"F64", 8, {}},
    {"I64", 8, {}},          {"U64", 8, {}},          {"I32", 4, {}},            {"U32", 4, {}},
    {"I16", 2, {}},          {"U16", 2, {}},          {"I8", 1, {}},             {"U8", 1, {}},
    {"BOOL", 1, {}},         {"F8_E4M3", 1, {}},      {"F8_E5M2", 1, {}},        {"F8_E8M0", 1, {}},
    {"C64", 8, {}},
};

const SafetensorsDTypeInfo* find_dtype(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return &d;
  return nullptr;
}

std::string_view safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    default: return {};
  }
}

// "[2, 3]" for messages, shortened when a (hostile) shape is very long.
std::string shape_text(const std::vector<int64_t>& shape) {
  constexpr size_t kMax = 8;
  if (shape.size() <= kMax) return fmt::format("[{}]", fmt::join(shape, ", "));
  return fmt::format("[{}, ... ({} dims)]", fmt::join(shape.begin(), shape.begin() + kMax, ", "), shape.size());
}

// A non-negative JSON integer that fits in u64.
bool json_u64(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

// Parses the header, refusing duplicate top-level names (nlohmann would
// silently keep the last one).
Result<Json> parse_header(std::string_view text, const std::string& where) {
  std::set<std::string, std::less<>> seen;
  std::string duplicate;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  try {
    Json header = Json::parse(text.begin(), text.end(), on_event);
    if (!duplicate.empty()) return fail("{}: header names tensor {} twice", where, quote_name(duplicate));
    return header;
  } catch (const Json::parse_error& e) {
    return fail("{}: header is not valid JSON (at byte {} of the header): {}", where, e.byte, e.what());
  } catch (const std::exception& e) {
    return fail("{}: header is not valid JSON: {}", where, e.what());
  }
}

Result<SafetensorsTensor> parse_entry(const std::string& name, const Json& entry, uint64_t data_size,
                                      const std::string& where) {
  SafetensorsTensor t;
  t.name = name;
  const std::string q = quote_name(name);
  if (!entry.is_object()) return fail("{}: tensor {}: expected a JSON object", where, q);
  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    return fail("{}: tensor {}: field 'dtype' missing or not a string", where, q);
  t.dtype_name = dtype->get<std::string>();
  const SafetensorsDTypeInfo* info = find_dtype(t.dtype_name);
  if (!info) return fail("{}: tensor {}: unknown dtype {}", where, q, quote_name(t.dtype_name));
  t.dtype = info->dtype;

  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array())
    return fail("{}: tensor {}: field 'shape' missing or not an array", where, q);
  uint64_t elements = 1;
  for (const Json& d : *shape) {
    uint64_t dim = 0;
    if (!json_u64(d, &dim) || dim > uint64_t(std::numeric_limits<int64_t>::max()))
      // No dump() here: the element may be arbitrarily deep JSON.
      return fail("{}: tensor {}: shape must be a list of non-negative integers", where, q);
    if (__builtin_mul_overflow(elements, dim, &elements))
      return fail("{}: tensor {}: shape has too many elements", where, q);
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t needed = 0;
  if (__builtin_mul_overflow(elements, info->element_bytes, &needed))
    return fail("{}: tensor {}: shape {} has too many elements", where, q, shape_text(t.shape));

  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !json_u64((*offsets)[0], &t.begin) || !json_u64((*offsets)[1], &t.end))
    return fail("{}: tensor {}: field 'data_offsets' must be [begin, end] with non-negative integers", where, q);
  if (t.begin > t.end)
    return fail("{}: tensor {}: data_offsets [{}, {}) end before they begin", where, q, t.begin, t.end);
  if (t.end > data_size)
    return fail("{}: tensor {}: data_offsets [{}, {}) beyond the end of the data ({} bytes)", where, q, t.begin,
                t.end, data_size);
  if (t.end - t.begin != needed)
    return fail("{}: tensor {}: data_offsets [{}, {}) hold {} bytes but {} {} needs {}", where, q, t.begin,
                t.end, t.end - t.begin, t.dtype_name, shape_text(t.shape), needed);
  return t;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  OFFICINA_TRY(MappedFile mapped, MappedFile::open(path));
  auto file = std::make_shared<MappedFile>(std::move(mapped));
  OFFICINA_TRY(SafetensorsFile out, parse(file->bytes(), path));
  out.file_ = std::move(file);
  return out;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::span<const std::byte> bytes, std::string where) {
  SafetensorsFile out;
  out.where_ = std::move(where);
  const std::string& w = out.where_;
  if (bytes.size() < 8)
    return fail("{}: file is {} bytes, too short for the 8-byte header length of a safetensors file", w, bytes.size());
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);  // little-endian host (asserted in gguf_file.cc)
  if (header_size > kSafetensorsMaxHeader)
    return fail("{}: header length {} exceeds the limit of {} bytes (not a safetensors file?)", w, header_size,
                kSafetensorsMaxHeader);
  if (header_size > bytes.size() - 8)
    return fail("{}: header length {} is beyond the end of the file (size {})", w, header_size, bytes.size());
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<size_t>(header_size));
  OFFICINA_TRY(Json header, parse_header(text, w));
  if (!header.is_object()) return fail("{}: header must be a JSON object", w);

  std::span<const std::byte> data = bytes.subspan(8 + static_cast<size_t>(header_size));
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return fail("{}: '__metadata__' must be an object of strings", w);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) return fail("{}: '__metadata__' value of {} must be a string", w, quote_name(key));
        out.metadata_.emplace(key, value.get<std::string>());
      }
      continue;
    }
    OFFICINA_TRY(SafetensorsTensor t, parse_entry(name, entry, data.size(), w));
    t.bytes = data.subspan(static_cast<size_t>(t.begin), static_cast<size_t>(t.end - t.begin));
    if (t.dtype && t.shape.size() <= 4) {
      t.view.dtype = *t.dtype;
      t.view.ndim = static_cast<int>(t.shape.size());
      std::copy(t.shape.begin(), t.shape.end(), t.view.shape.begin());
      t.view.data = t.bytes.data();
    }
    out.tensors_.push_back(std::move(t));
  }

  std::sort(out.tensors_.begin(), out.tensors_.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const SafetensorsTensor* last = nullptr;  // the non-empty tensor reaching furthest
  for (size_t n = 0; n < out.tensors_.size(); ++n) {
    const SafetensorsTensor& t = out.tensors_[n];
    if (t.begin == t.end) continue;
    if (last && t.begin < last->end)
      return fail("{}: tensor {}: data_offsets [{}, {}) overlap tensor {} [{}, {})", w, quote_name(t.name), t.begin,
                  t.end, quote_name(last->name), last->begin, last->end);
    last = &t;
  }
  for (size_t n = 0; n < out.tensors_.size(); ++n) out.index_.emplace(out.tensors_[n].name, n);
  return out;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<TensorView> SafetensorsFile::view(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) return fail("{}: tensor {} missing", where_, quote_name(name));
  if (!t->dtype)
    return fail("{}: tensor {} has dtype {}, which officina cannot use as a tensor (F32, F16, BF16 only)", where_,
                quote_name(name), t->dtype_name);
  if (!t->has_view())
    return fail("{}: tensor {} has {} dimensions; officina's tensors have at most 4", where_, quote_name(name),
                t->shape.size());
  return t->view;
}

namespace {

// The header text and the data order of a file to write.
struct SafetensorsLayout {
  std::string header;  // including the u64 length in front
  std::vector<const SafetensorsWriteTensor*> order;
};

Result<SafetensorsLayout> plan_safetensors(std::span<const SafetensorsWriteTensor> tensors,
                                           const std::map<std::string, std::string>& metadata) {
  SafetensorsLayout layout;
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    std::string_view dtype = safetensors_dtype_name(t.dtype);
    if (dtype.empty()) return fail("tensor '{}': dtype {} cannot be stored in safetensors", t.name, dtype_name(t.dtype));
    if (t.name.empty() || t.name == "__metadata__") return fail("tensor '{}': invalid tensor name", t.name);
    if (!names.insert(t.name).second) return fail("tensor '{}': given twice", t.name);
    uint64_t bytes = find_dtype(dtype)->element_bytes;
    for (int64_t d : t.shape)
      if (d < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes))
        return fail("tensor '{}': bad shape [{}]", t.name, fmt::join(t.shape, ", "));
    if (bytes != t.bytes.size())
      return fail("tensor '{}': {} bytes given but {} [{}] needs {}", t.name, t.bytes.size(), dtype,
                  fmt::join(t.shape, ", "), bytes);
    layout.order.push_back(&t);
  }
  auto element_bytes = [](const SafetensorsWriteTensor* t) { return dtype_block_bytes(t->dtype); };
  std::sort(layout.order.begin(), layout.order.end(), [&](const auto* a, const auto* b) {
    if (element_bytes(a) != element_bytes(b)) return element_bytes(a) > element_bytes(b);
    return a->name < b->name;
  });

  std::string json = "{";
  try {
    if (!metadata.empty()) json += "\"__metadata__\":" + Json(metadata).dump() + ",";
    uint64_t offset = 0;
    for (const auto* t : layout.order) {
      uint64_t end = offset + t->bytes.size();
      json += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}},", Json(t->name).dump(),
                          safetensors_dtype_name(t->dtype), fmt::join(t->shape, ","), offset, end);
      offset = end;
    }
  } catch (const std::exception& e) {
    return fail("safetensors header: {}", e.what());  // invalid UTF-8 in a name or metadata
  }
  if (json.size() > 1) json.pop_back();  // the last comma
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');
  uint64_t n = json.size();
  layout.header.resize(8);
  std::memcpy(layout.header.data(), &n, 8);
  layout.header += json;
  return layout;
}

}  // namespace

Result<std::vector<std::byte>> safetensors_bytes(std::span<const SafetensorsWriteTensor> tensors,
                                                 const std::map<std::string, std::string>& metadata) {
  OFFICINA_TRY(SafetensorsLayout layout, plan_safetensors(tensors, metadata));
  std::vector<std::byte> out;
  const auto* h = reinterpret_cast<const std::byte*>(layout.header.data());
  out.insert(out.end(), h, h + layout.header.size());
  for (const auto* t : layout.order) out.insert(out.end(), t->bytes.begin(), t->bytes.end());
  return out;
}

Result<void> write_safetensors(const std::string& path, std::span<const SafetensorsWriteTensor> tensors,
                               const std::map<std::string, std::string>& metadata) {
  auto layout = plan_safetensors(tensors, metadata);
  if (!layout) return wrap(layout.error(), path);
  OFFICINA_TRY(AtomicFile out, AtomicFile::create(path));
  OFFICINA_CHECK(out.write(layout->header.data(), layout->header.size()));
  for (const auto* t : layout->order) OFFICINA_CHECK(out.write(t->bytes));
  return out.commit();
}

}  // namespace officina
