#include "platform/data_crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace officina {
namespace {

constexpr std::array<uint8_t, 8> kMagic = {'O', 'F', 'C', 'E', 'N', 'C', '1', '\0'};
constexpr uint32_t kFileVersion = 1;
constexpr size_t kPrefixBytes = 16;  // magic, version, chunk size: authenticated with every chunk
constexpr size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kFileHeaderBytes = kPrefixBytes + kStreamHeaderBytes;
constexpr size_t kChunkOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr uint32_t kMaxChunkBytes = 16u << 20;  // bounds what a hostile header can make us allocate

constexpr uint8_t kWrapVersion = 1;
constexpr size_t kWrapNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kWrappedBytes = 1 + kWrapNonceBytes + SecretKey::kBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;

static_assert(SecretKey::kBytes == crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(SecretKey::kBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

void ensure_sodium() {
  // sodium_init fails only without any random source; nothing can work then.
  static const bool ready = sodium_init() >= 0;
  if (!ready) {
    std::fputs("officina: libsodium cannot initialise (no random source)\n", stderr);
    std::abort();
  }
}

void put_u32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in[i]) << (8 * i);
  return v;
}

// The associated data of every chunk: the header prefix, then the context.
std::vector<uint8_t> chunk_ad(const uint8_t* prefix, std::string_view context) {
  std::vector<uint8_t> ad(kPrefixBytes + context.size());
  std::memcpy(ad.data(), prefix, kPrefixBytes);
  if (!context.empty()) std::memcpy(ad.data() + kPrefixBytes, context.data(), context.size());
  return ad;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

Result<SecretKey> read_key_fd(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail("{}: cannot stat the master key: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("{}: the master key is not a regular file", path);
  if ((st.st_mode & 077) != 0)
    return fail("{}: the master key is open to group or others (mode {:04o}); run chmod 600 {}", path,
                st.st_mode & 07777, path);
  if (st.st_size != static_cast<off_t>(SecretKey::kBytes))
    return fail("{}: a master key file holds {} bytes, this one holds {}", path, SecretKey::kBytes, st.st_size);
  std::array<uint8_t, SecretKey::kBytes> bytes{};
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      sodium_memzero(bytes.data(), bytes.size());
      return fail("{}: cannot read the master key: {}", path, n < 0 ? std::strerror(errno) : "file shrank");
    }
    got += static_cast<size_t>(n);
  }
  auto key = SecretKey::from_bytes(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  FdCloser d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);  // best effort: the key itself is already synced
}

// Writes a fresh key to a private temporary file and links it to PATH, which
// never replaces an existing file. nullopt when another process got there
// first (the caller then loads theirs).
Result<std::optional<SecretKey>> create_key_file(const std::string& path) {
  SecretKey key = SecretKey::random();
  std::array<uint8_t, 8> tag{};
  randombytes_buf(tag.data(), tag.size());
  std::array<char, 17> hex{};
  sodium_bin2hex(hex.data(), hex.size(), tag.data(), tag.size());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + hex.data();
  {
    FdCloser f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (f.fd < 0) return fail("{}: cannot create the master key: {}", path, std::strerror(errno));
    size_t put = 0;
    while (put < SecretKey::kBytes) {
      ssize_t n = ::write(f.fd, key.bytes().data() + put, SecretKey::kBytes - put);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail("{}: cannot write the master key: {}", tmp, std::strerror(e));
      }
      put += static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return fail("{}: cannot sync the master key: {}", tmp, std::strerror(e));
    }
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int e = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && e == EEXIST) return std::optional<SecretKey>();
  if (rc != 0) return fail("{}: cannot create the master key: {}", path, std::strerror(e));
  sync_parent_dir(path);
  return std::optional<SecretKey>(std::move(key));
}

}  // namespace

// ---- SecretKey ----

SecretKey SecretKey::random() {
  ensure_sodium();
  SecretKey key;
  randombytes_buf(key.bytes_.data(), key.bytes_.size());
  return key;
}

Result<SecretKey> SecretKey::from_bytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kBytes) return fail("a key has {} bytes, not {}", kBytes, bytes.size());
  SecretKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kBytes);
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

bool SecretKey::equals(const SecretKey& other) const {
  return sodium_memcmp(bytes_.data(), other.bytes_.data(), kBytes) == 0;
}

Result<SecretKey> load_or_create_master_key(const std::string& path) {
  ensure_sodium();
  // Two rounds: if another process creates the file between our open and our
  // link, the second round loads theirs.
  for (int round = 0; round < 2; ++round) {
    // Symbolic links are followed (secret mounts use them); the checks apply
    // to the file they lead to.
    FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd >= 0) return read_key_fd(path, f.fd);
    if (errno != ENOENT) return fail("{}: cannot open the master key: {}", path, std::strerror(errno));
    OFFICINA_TRY(std::optional<SecretKey> created, create_key_file(path));
    if (created) return std::move(*created);
  }
  return fail("{}: the master key appeared and vanished while being created; try again", path);
}

// ---- key wrapping ----

std::vector<uint8_t> wrap_key(const SecretKey& master, const SecretKey& data_key, std::string_view context) {
  ensure_sodium();
  std::vector<uint8_t> out(kWrappedBytes);
  out[0] = kWrapVersion;
  uint8_t* nonce = out.data() + 1;
  randombytes_buf(nonce, kWrapNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 1 + kWrapNonceBytes, &written, data_key.bytes().data(),
                                             SecretKey::kBytes, reinterpret_cast<const uint8_t*>(context.data()),
                                             context.size(), nullptr, nonce, master.bytes().data());
  return out;
}

Result<SecretKey> unwrap_key(const SecretKey& master, std::span<const uint8_t> wrapped, std::string_view context) {
  ensure_sodium();
  if (wrapped.size() != kWrappedBytes)
    return fail("unwrapping the key for '{}': a wrapped key has {} bytes, not {}", context, kWrappedBytes,
                wrapped.size());
  if (wrapped[0] != kWrapVersion)
    return fail("unwrapping the key for '{}': unknown wrapping version {}", context, wrapped[0]);
  std::array<uint8_t, SecretKey::kBytes> plain{};
  unsigned long long got = 0;
  const uint8_t* nonce = wrapped.data() + 1;
  const uint8_t* sealed = nonce + kWrapNonceBytes;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      plain.data(), &got, nullptr, sealed, wrapped.size() - 1 - kWrapNonceBytes,
      reinterpret_cast<const uint8_t*>(context.data()), context.size(), nonce, master.bytes().data());
  if (rc != 0 || got != SecretKey::kBytes) {
    sodium_memzero(plain.data(), plain.size());
    return fail("unwrapping the key for '{}': authentication failed (wrong master key, wrong context, or the "
                "wrapped key was modified)",
                context);
  }
  auto key = SecretKey::from_bytes(plain);
  sodium_memzero(plain.data(), plain.size());
  return key;
}

// ---- EncryptedFileWriter ----

struct EncryptedFileWriter::Stream {
  crypto_secretstream_xchacha20poly1305_state state;
  std::vector<uint8_t> ad;
  std::vector<uint8_t> plain;   // kChunkBytes, the first `used` bytes filled
  std::vector<uint8_t> cipher;  // kChunkBytes + overhead
  size_t used = 0;
};

void EncryptedFileWriter::StreamWiper::operator()(Stream* s) const {
  sodium_memzero(&s->state, sizeof(s->state));
  sodium_memzero(s->plain.data(), s->plain.size());
  delete s;
}

EncryptedFileWriter::EncryptedFileWriter(AtomicFile file, std::unique_ptr<Stream, StreamWiper> stream)
    : stream_(std::move(stream)) {
  file_.emplace(std::move(file));
}

EncryptedFileWriter::EncryptedFileWriter(EncryptedFileWriter&& other) noexcept
    : stream_(std::move(other.stream_)), path_(std::move(other.path_)), plaintext_bytes_(other.plaintext_bytes_),
      broken_(other.broken_) {
  if (other.file_) file_.emplace(std::move(*other.file_));
  other.file_.reset();
}

EncryptedFileWriter::~EncryptedFileWriter() = default;

Result<EncryptedFileWriter> EncryptedFileWriter::create(const std::string& path, const SecretKey& key,
                                                        std::string_view context) {
  ensure_sodium();
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  std::unique_ptr<Stream, StreamWiper> s(new Stream);
  std::array<uint8_t, kFileHeaderBytes> header{};
  std::memcpy(header.data(), kMagic.data(), kMagic.size());
  put_u32(header.data() + 8, kFileVersion);
  put_u32(header.data() + 12, kChunkBytes);
  crypto_secretstream_xchacha20poly1305_init_push(&s->state, header.data() + kPrefixBytes, key.bytes().data());
  s->ad = chunk_ad(header.data(), context);
  s->plain.resize(kChunkBytes);
  s->cipher.resize(kChunkBytes + kChunkOverhead);
  OFFICINA_CHECK(file.write(header.data(), header.size()));
  EncryptedFileWriter writer(std::move(file), std::move(s));
  writer.path_ = path;
  return writer;
}

Result<void> EncryptedFileWriter::seal(bool final) {
  Stream& s = *stream_;
  unsigned long long sealed = 0;
  const uint8_t tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  crypto_secretstream_xchacha20poly1305_push(&s.state, s.cipher.data(), &sealed, s.plain.data(), s.used,
                                             s.ad.data(), s.ad.size(), tag);
  s.used = 0;
  auto written = file_->write(s.cipher.data(), static_cast<size_t>(sealed));
  if (!written) {
    broken_ = true;
    file_.reset();  // removes the temporary file
    return written;
  }
  return {};
}

Result<void> EncryptedFileWriter::write(std::span<const uint8_t> bytes) {
  if (broken_) return fail("{}: the encrypted write failed earlier", path_);
  if (!file_) return fail("{}: write after commit", path_);
  Stream& s = *stream_;
  for (size_t pos = 0; pos < bytes.size();) {
    // A full chunk is sealed only once more data follows: the last chunk must
    // carry the FINAL tag, and only commit() knows which one that is.
    if (s.used == kChunkBytes) {
      OFFICINA_CHECK(seal(false));
    }
    const size_t take = std::min<size_t>(kChunkBytes - s.used, bytes.size() - pos);
    std::memcpy(s.plain.data() + s.used, bytes.data() + pos, take);
    s.used += take;
    pos += take;
  }
  plaintext_bytes_ += bytes.size();
  return {};
}

Result<void> EncryptedFileWriter::commit() {
  if (broken_) return fail("{}: the encrypted write failed earlier", path_);
  if (!file_) return fail("{}: already committed", path_);
  OFFICINA_CHECK(seal(true));
  auto committed = file_->commit();
  file_.reset();
  if (!committed) {
    broken_ = true;
    return committed;
  }
  return {};
}

// ---- decryption ----

namespace {

struct PullState {
  crypto_secretstream_xchacha20poly1305_state state;
  std::vector<uint8_t> plain;
  ~PullState() {
    sodium_memzero(&state, sizeof(state));
    sodium_memzero(plain.data(), plain.size());
  }
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<void> decrypt_file(const std::string& path, const SecretKey& key, std::string_view context,
                          const std::function<Result<void>(std::span<const uint8_t>)>& sink) {
  ensure_sodium();
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rbe"));
  if (!file) return fail("{}: {}", path, std::strerror(errno));
  std::FILE* f = file.get();
  std::array<uint8_t, kFileHeaderBytes> header{};
  const size_t header_got = std::fread(header.data(), 1, header.size(), f);
  if (std::ferror(f)) return fail("{}: read error: {}", path, std::strerror(errno));
  if (header_got < kMagic.size() || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0)
    return fail("{}: not an officina encrypted file (bad magic)", path);
  if (header_got < header.size()) return fail("{}: truncated in the header ({} bytes)", path, header_got);
  const uint32_t version = get_u32(header.data() + 8);
  if (version != kFileVersion) return fail("{}: unsupported encrypted file version {}", path, version);
  const uint32_t chunk = get_u32(header.data() + 12);
  if (chunk == 0 || chunk > kMaxChunkBytes) return fail("{}: implausible chunk size {} in the header", path, chunk);

  PullState pull;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&pull.state, header.data() + kPrefixBytes,
                                                      key.bytes().data()) != 0)
    return fail("{}: invalid stream header", path);
  const std::vector<uint8_t> ad = chunk_ad(header.data(), context);
  std::vector<uint8_t> cipher(chunk + kChunkOverhead);
  pull.plain.resize(chunk);
  uint64_t offset = header.size();
  for (uint64_t index = 0;; ++index) {
    const size_t got = std::fread(cipher.data(), 1, cipher.size(), f);
    if (std::ferror(f)) return fail("{}: read error at byte {}: {}", path, offset, std::strerror(errno));
    if (got == 0) return fail("{}: truncated: the file ends after chunk {} without its final chunk", path, index);
    if (got < kChunkOverhead)
      return fail("{}: truncated: chunk {} at byte {} has only {} bytes", path, index, offset, got);
    unsigned long long plain_len = 0;
    uint8_t tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&pull.state, pull.plain.data(), &plain_len, &tag, cipher.data(),
                                                   got, ad.data(), ad.size()) != 0)
      return fail("{}: chunk {} at byte {} does not authenticate (wrong key, wrong context, or the file was "
                  "modified or truncated)",
                  path, index, offset);
    offset += got;
    const bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (!final && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
      return fail("{}: chunk {} has an unexpected tag {}", path, index, tag);
    if (final && std::fgetc(f) != EOF) return fail("{}: unexpected bytes after the final chunk (byte {})", path, offset);
    OFFICINA_CHECK(sink(std::span<const uint8_t>(pull.plain.data(), static_cast<size_t>(plain_len))));
    if (final) return {};
  }
}

Result<std::string> decrypt_file_to_string(const std::string& path, const SecretKey& key, std::string_view context,
                                           size_t max_bytes) {
  std::string out;
  auto done = decrypt_file(path, key, context, [&](std::span<const uint8_t> bytes) -> Result<void> {
    if (bytes.size() > max_bytes - out.size()) return fail("{}: more than {} bytes of plaintext", path, max_bytes);
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return {};
  });
  if (!done) {
    // Plaintext from chunks before the failure is no one's business.
    sodium_memzero(out.data(), out.size());
    return std::unexpected(std::move(done).error());
  }
  return out;
}

}  // namespace officina
