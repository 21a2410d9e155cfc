#include "platform/tar_writer.h"

#include <cstring>

#include <fmt/format.h>

namespace officina {
namespace {

constexpr size_t kBlock = 512;

void put_octal(char* field, size_t width, uint64_t value) {
  // width - 1 digits and a NUL, zero-padded.
  const std::string digits = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

}  // namespace

bool TarWriter::emit(std::string_view bytes) {
  if (failed_) return false;
  if (!sink_(bytes)) failed_ = true;
  return !failed_;
}

Result<void> TarWriter::add(const std::string& name, uint64_t size, int64_t mtime,
                            const std::function<Result<void>(const std::function<bool(std::string_view)>&)>& fill) {
  if (failed_) return fail("tar: the archive already failed");
  if (name.empty() || name.size() > 255) return fail("tar: name '{}' must have 1 to 255 bytes", name);
  if (size >= (uint64_t{1} << 33)) return fail("tar: {} is larger than ustar's 8 GiB", name);
  char header[kBlock] = {};
  std::string prefix, base = name;
  if (base.size() > 100) {
    // Split at a '/' so the prefix fits in 155 bytes and the rest in 100.
    size_t cut = name.rfind('/', 155);
    while (cut != std::string::npos && name.size() - cut - 1 > 100) cut = cut == 0 ? std::string::npos : name.rfind('/', cut - 1);
    if (cut == std::string::npos || cut == 0) return fail("tar: name '{}' cannot be split for ustar", name);
    prefix = name.substr(0, cut);
    base = name.substr(cut + 1);
  }
  std::memcpy(header, base.data(), base.size());
  put_octal(header + 100, 8, 0600);       // mode
  put_octal(header + 108, 8, 0);          // uid
  put_octal(header + 116, 8, 0);          // gid
  put_octal(header + 124, 12, size);      // size
  put_octal(header + 136, 12, static_cast<uint64_t>(mtime < 0 ? 0 : mtime));
  std::memset(header + 148, ' ', 8);      // checksum: spaces while summing
  header[156] = '0';                      // regular file
  std::memcpy(header + 257, "ustar", 6);  // magic with its NUL
  std::memcpy(header + 263, "00", 2);     // version
  std::memcpy(header + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  const std::string checksum = fmt::format("{:06o}", sum);
  std::memcpy(header + 148, checksum.data(), 6);
  header[154] = '\0';
  header[155] = ' ';
  if (!emit(std::string_view(header, kBlock))) return fail("tar: writing {} failed", name);
  uint64_t written = 0;
  auto counted = [&](std::string_view bytes) {
    written += bytes.size();
    return written <= size && emit(bytes);
  };
  OFFICINA_CHECK(fill(counted));
  if (written != size) {
    failed_ = true;
    return fail("tar: {} was announced with {} bytes but gave {}", name, size, written);
  }
  if (failed_) return fail("tar: writing {} failed", name);
  static const char zeros[kBlock] = {};
  const size_t pad = (kBlock - size % kBlock) % kBlock;
  if (pad > 0 && !emit(std::string_view(zeros, pad))) return fail("tar: writing {} failed", name);
  return {};
}

Result<void> TarWriter::add(const std::string& name, std::string_view content, int64_t mtime) {
  return add(name, content.size(), mtime, [content](const std::function<bool(std::string_view)>& out) -> Result<void> {
    if (!out(content)) return fail("tar: writing failed");
    return {};
  });
}

Result<void> TarWriter::finish() {
  static const char zeros[2 * kBlock] = {};
  if (!emit(std::string_view(zeros, sizeof zeros))) return fail("tar: writing the end of the archive failed");
  return {};
}

}  // namespace officina
