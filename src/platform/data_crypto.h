// Encryption at rest for the platform (libsodium). Three pieces:
//
//  - SecretKey: 32 secret bytes, move-only, wiped when destroyed.
//  - Key wrapping: the instance master key (one 0600 file under the data
//    directory) encrypts each project's data key with XChaCha20-Poly1305.
//    The wrapping context (e.g. "officina project 12") is the associated
//    data, so a wrapped key copied to another project's row does not unwrap.
//    Wrapped layout: [version = 1][24-byte random nonce][32-byte key + 16-byte tag].
//  - Encrypted files: a stream of fixed-size chunks sealed with
//    crypto_secretstream_xchacha20poly1305, the last one tagged FINAL, so
//    truncation, reordering, tampering and trailing bytes are all detected.
//
// Encrypted file layout (little-endian):
//   offset 0   8 bytes  magic "OFCENC1\0"
//   offset 8   u32      format version (1)
//   offset 12  u32      plaintext bytes per chunk C (every chunk but the last
//                       holds exactly C; the last holds 0..C)
//   offset 16  24 bytes secretstream header
//   offset 40  chunks   each C + 17 bytes (the last: its length + 17)
// Every chunk's associated data is the first 16 header bytes followed by the
// context, so the header and the context are authenticated with each chunk.
//
// Errors name the file and the problem; authentication failures cannot tell
// a wrong key from a wrong context from modified bytes, and say so.
// Thread-safety: free functions are thread-safe; a SecretKey may be read from
// several threads; an EncryptedFileWriter belongs to one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"

namespace officina {

class SecretKey {
 public:
  static constexpr size_t kBytes = 32;

  // A fresh key from the operating system's random source. Aborts only if
  // libsodium cannot initialise (no random source at all).
  static SecretKey random();
  // A key from exactly kBytes bytes; fails with "a key has 32 bytes, not N".
  static Result<SecretKey> from_bytes(std::span<const uint8_t> bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();  // sodium_memzero

  std::span<const uint8_t, kBytes> bytes() const { return bytes_; }
  // Constant-time comparison.
  bool equals(const SecretKey& other) const;

 private:
  SecretKey() = default;
  std::array<uint8_t, kBytes> bytes_{};
};

// Loads the master key from PATH, or creates it (32 random bytes, mode 0600,
// written to a private temporary file and linked into place, so a concurrent
// creator or a crash never leaves a partial key). Fails on a file that is not
// a regular file, is open to group or others ("chmod 600 PATH"), or does not
// hold exactly 32 bytes.
Result<SecretKey> load_or_create_master_key(const std::string& path);

// Encrypts DATA_KEY under MASTER, bound to CONTEXT. Never fails.
std::vector<uint8_t> wrap_key(const SecretKey& master, const SecretKey& data_key, std::string_view context);
// The data key back; fails on a wrong size or version, and on a failed
// authentication (wrong master key, wrong context, or modified bytes).
Result<SecretKey> unwrap_key(const SecretKey& master, std::span<const uint8_t> wrapped, std::string_view context);

// Writes an encrypted file through AtomicFile: nothing appears at PATH until
// commit() succeeds, and a writer destroyed before that (or a crash) leaves
// no file at PATH. Plaintext is buffered into chunks of kChunkBytes; memory
// use is about two chunks whatever the file size.
class EncryptedFileWriter {
 public:
  static constexpr uint32_t kChunkBytes = 64 * 1024;

  // Fails when the temporary file cannot be created ("PATH: <strerror>").
  // The key is used here and not kept (the stream state derives its own).
  static Result<EncryptedFileWriter> create(const std::string& path, const SecretKey& key, std::string_view context);

  EncryptedFileWriter(EncryptedFileWriter&& other) noexcept;
  EncryptedFileWriter& operator=(EncryptedFileWriter&&) = delete;
  EncryptedFileWriter(const EncryptedFileWriter&) = delete;
  ~EncryptedFileWriter();  // wipes the stream state and buffered plaintext

  // Appends plaintext. Fails on a write error, after commit(), or after an
  // earlier failure (the writer is then unusable and leaves no file).
  Result<void> write(std::span<const uint8_t> bytes);
  Result<void> write(std::string_view text) {
    return write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // Seals the last chunk (FINAL), syncs and renames the file into place.
  // Fails like write(); a second commit() fails.
  Result<void> commit();
  // Plaintext bytes accepted so far.
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }

 private:
  struct Stream;
  struct StreamWiper {
    void operator()(Stream* stream) const;
  };
  EncryptedFileWriter(AtomicFile file, std::unique_ptr<Stream, StreamWiper> stream);
  Result<void> seal(bool final);

  std::optional<AtomicFile> file_;
  std::unique_ptr<Stream, StreamWiper> stream_;
  std::string path_;
  uint64_t plaintext_bytes_ = 0;
  bool broken_ = false;
};

// Decrypts PATH chunk by chunk, handing each verified chunk's plaintext to
// SINK (a span valid only during the call; the SINK may fail, which stops
// the decryption and returns its error). Fails on a missing file, bad magic,
// an unknown version, a chunk that does not authenticate, a file that ends
// before its FINAL chunk, or bytes after it. The SINK may already have seen
// chunks when a later one fails: treat its output as void unless this
// returns success.
Result<void> decrypt_file(const std::string& path, const SecretKey& key, std::string_view context,
                          const std::function<Result<void>(std::span<const uint8_t>)>& sink);

// The whole plaintext; fails like decrypt_file, and with "PATH: more than
// MAX_BYTES bytes of plaintext" once the plaintext grows past max_bytes.
Result<std::string> decrypt_file_to_string(const std::string& path, const SecretKey& key, std::string_view context,
                                           size_t max_bytes = size_t{64} << 20);

}  // namespace officina
