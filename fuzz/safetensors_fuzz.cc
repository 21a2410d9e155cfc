// libFuzzer target for the safetensors reader: any byte string must parse or
// fail with an Error. When it parses, every tensor's bytes and view must lie
// inside the input (touching each byte lets ASan catch one that does not).
#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/safetensors_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = officina::SafetensorsFile::parse(bytes, "fuzz.safetensors");
  if (!file) return 0;
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : file->metadata()) sink = sink + key.size() + value.size();
  for (const auto& t : file->tensors()) {
    for (std::byte b : t.bytes) sink = sink + static_cast<uint8_t>(b);
    auto view = file->view(t.name);
    if (view.has_value() != t.has_view()) __builtin_trap();
    if (!view) continue;
    if (view->bytes() != t.bytes.size()) __builtin_trap();
    for (size_t i = 0; i < view->bytes(); ++i) sink = sink + static_cast<uint8_t>(view->data[i]);
  }
  return 0;
}
