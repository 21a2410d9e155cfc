// libFuzzer target for the GGUF reader: any byte string must parse or fail
// with an Error, never crash, hang or allocate without bound. When it parses,
// every tensor view must lie inside the input (touching each byte lets ASan
// catch a view that does not) and every metadata value must be readable;
// a vocabulary in it must load or fail cleanly.
#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "text/tokenizer.h"

namespace {

uint64_t touch(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (std::byte b : bytes) sum += static_cast<uint8_t>(b);
  return sum;
}

void touch_value(const officina::GgufValue& v, const std::string& key, volatile uint64_t& sink) {
  if (auto i = v.as_int(key)) sink = sink + static_cast<uint64_t>(*i);
  if (auto f = v.as_float(key)) sink = sink + static_cast<uint64_t>(*f != 0);
  if (auto s = v.as_string(key)) sink = sink + s->size();
  if (auto a = v.as_array(key))
    for (const auto& item : (*a)->items) touch_value(item, key, sink);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto file = officina::GgufFile::parse(bytes, "fuzz.gguf");
  if (!file) return 0;
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : file->metadata()) touch_value(value, key, sink);
  for (const auto& t : file->tensors()) sink = sink + touch(std::span(t.view.data, t.view.bytes()));
  // The vocabulary loader reads the same metadata a model file carries.
  if (auto tokenizer = officina::Tokenizer::from_gguf(*file)) {
    auto ids = tokenizer->encode("Ciao, mondo! 123 <s>", true);
    sink = sink + tokenizer->decode(ids).size();
  }

  // What parses must write back and parse again to the same metadata.
  officina::GgufWriter writer;
  writer.copy_metadata(*file);
  for (const auto& t : file->tensors())
    if (!writer.add_tensor(t.name, t.view)) __builtin_trap();
  auto rewritten = writer.to_bytes();
  // The writer refuses alignments above 1 MiB that the reader accepts.
  if (!rewritten) return 0;
  auto again = officina::GgufFile::parse(*rewritten, "rewritten.gguf");
  if (!again || again->metadata() != file->metadata() || again->tensors().size() != file->tensors().size())
    __builtin_trap();
  return 0;
}
