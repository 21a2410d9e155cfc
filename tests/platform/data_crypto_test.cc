// Encryption at rest: key wrapping bound to its context, the master key file
// (created 0600, refused when open to others), and encrypted files that round
// trip any size and refuse every wrong key, wrong context, modified,
// truncated or extended file.
#include "platform/data_crypto.h"

#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace officina {
namespace {

constexpr size_t kChunk = EncryptedFileWriter::kChunkBytes;
constexpr size_t kHeader = 40;
constexpr size_t kTag = 17;

template <class T>
void expect_error(const Result<T>& result, const std::string& fragment) {
  ASSERT_FALSE(result) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
}

std::string random_text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

void encrypt(const std::string& path, const SecretKey& key, std::string_view context, std::string_view plain,
             size_t piece = 0) {
  auto writer = EncryptedFileWriter::create(path, key, context);
  ASSERT_TRUE(writer) << writer.error().message;
  if (piece == 0) piece = std::max<size_t>(plain.size(), 1);
  for (size_t pos = 0; pos < plain.size(); pos += piece) ASSERT_TRUE(writer->write(plain.substr(pos, piece)));
  EXPECT_EQ(writer->plaintext_bytes(), plain.size());
  auto committed = writer->commit();
  ASSERT_TRUE(committed) << committed.error().message;
}

class DataCrypto : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir.path(name); }
  test::TempDir dir;
  SecretKey key = SecretKey::random();
};

TEST_F(DataCrypto, KeysAreRandomMoveOnlyAndWipedWhenMovedFrom) {
  SecretKey other = SecretKey::random();
  EXPECT_FALSE(key.equals(other));
  auto copy = SecretKey::from_bytes(key.bytes());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(copy->equals(key));
  SecretKey moved = std::move(*copy);
  EXPECT_TRUE(moved.equals(key));
  for (uint8_t b : copy->bytes()) EXPECT_EQ(b, 0);
  std::vector<uint8_t> short_key(31, 1);
  expect_error(SecretKey::from_bytes(short_key), "32 bytes, not 31");
}

TEST_F(DataCrypto, WrappedKeysUnwrapOnlyWithTheirMasterAndContext) {
  SecretKey master = SecretKey::random();
  SecretKey data = SecretKey::random();
  std::vector<uint8_t> wrapped = wrap_key(master, data, "officina project 12");
  EXPECT_EQ(wrapped.size(), 73u);
  auto back = unwrap_key(master, wrapped, "officina project 12");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->equals(data));
  // A fresh nonce each time: the same key never wraps to the same bytes.
  EXPECT_NE(wrap_key(master, data, "officina project 12"), wrapped);

  expect_error(unwrap_key(master, wrapped, "officina project 13"), "authentication failed");
  expect_error(unwrap_key(SecretKey::random(), wrapped, "officina project 12"), "authentication failed");
  for (size_t i = 1; i < wrapped.size(); ++i) {
    std::vector<uint8_t> bad = wrapped;
    bad[i] ^= 0x01;
    expect_error(unwrap_key(master, bad, "officina project 12"), "authentication failed");
  }
  std::vector<uint8_t> bad_version = wrapped;
  bad_version[0] = 2;
  expect_error(unwrap_key(master, bad_version, "officina project 12"), "version 2");
  expect_error(unwrap_key(master, std::span(wrapped).first(72), "officina project 12"), "73 bytes, not 72");
}

TEST_F(DataCrypto, MasterKeyIsCreatedPrivateAndReloadedEqual) {
  const std::string file = path("master.key");
  auto created = load_or_create_master_key(file);
  ASSERT_TRUE(created) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto loaded = load_or_create_master_key(file);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(loaded->equals(*created));
  // No temporary file left beside it.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(DataCrypto, MasterKeyOpenToOthersOrOfTheWrongSizeIsRefused) {
  const std::string file = path("master.key");
  ASSERT_TRUE(load_or_create_master_key(file));
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  expect_error(load_or_create_master_key(file), "chmod 600");
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  expect_error(load_or_create_master_key(file), "open to group or others");
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  EXPECT_TRUE(load_or_create_master_key(file));

  const std::string short_file = path("short.key");
  test::write_file(short_file, std::string(31, 'k'));
  ASSERT_EQ(::chmod(short_file.c_str(), 0600), 0);
  expect_error(load_or_create_master_key(short_file), "holds 32 bytes, this one holds 31");
  std::filesystem::create_directory(path("dir.key"));
  ASSERT_EQ(::chmod(path("dir.key").c_str(), 0700), 0);
  expect_error(load_or_create_master_key(path("dir.key")), "not a regular file");
  EXPECT_FALSE(load_or_create_master_key(path("missing/master.key")));
}

TEST_F(DataCrypto, ConcurrentCreatorsAgreeOnOneMasterKey) {
  const std::string file = path("master.key");
  std::vector<std::optional<SecretKey>> keys(6);
  std::vector<std::thread> threads;
  for (auto& slot : keys) {
    threads.emplace_back([&slot, &file] {
      auto k = load_or_create_master_key(file);
      if (k) slot.emplace(std::move(*k));
    });
  }
  for (auto& t : threads) t.join();
  for (auto& k : keys) {
    ASSERT_TRUE(k);
    EXPECT_TRUE(k->equals(*keys[0]));
  }
}

TEST_F(DataCrypto, FilesOfAwkwardSizesRoundTrip) {
  const size_t sizes[] = {0, 1, kChunk - 1, kChunk, kChunk + 1, 3 * kChunk + 5, 4 * kChunk};
  uint32_t seed = 1;
  for (size_t n : sizes) {
    const std::string plain = random_text(n, seed++);
    const std::string file = path("f" + std::to_string(n));
    // Whole, and in odd pieces that straddle the chunk boundaries.
    for (size_t piece : {size_t{0}, size_t{7919}}) {
      encrypt(file, key, "officina project 1", plain, piece);
      const size_t chunks = n / kChunk + (n % kChunk != 0 || n == 0 ? 1 : 0);
      EXPECT_EQ(std::filesystem::file_size(file), kHeader + n + kTag * chunks) << n;
      auto back = decrypt_file_to_string(file, key, "officina project 1");
      ASSERT_TRUE(back) << n << ": " << back.error().message;
      EXPECT_TRUE(*back == plain) << "size " << n << " piece " << piece;
    }
    size_t pieces = 0;
    ASSERT_TRUE(decrypt_file(file, key, "officina project 1", [&](std::span<const uint8_t> chunk) -> Result<void> {
      EXPECT_LE(chunk.size(), kChunk);
      ++pieces;
      return {};
    }));
    EXPECT_EQ(pieces, std::max<size_t>(1, (n + kChunk - 1) / kChunk));
  }
}

TEST_F(DataCrypto, CiphertextShowsNothingOfThePlaintext) {
  std::string plain;
  while (plain.size() < 200000) plain += "CONFIDENZIALE: bilancio 2025 della linea 2, margine 17%.\n";
  encrypt(path("a"), key, "officina project 1", plain);
  encrypt(path("b"), key, "officina project 1", plain);
  const std::string a = test::read_file(path("a")), b = test::read_file(path("b"));
  EXPECT_EQ(a.find("CONFIDENZIALE"), std::string::npos);
  EXPECT_EQ(a.find("bilancio"), std::string::npos);
  EXPECT_EQ(a.substr(0, 8), std::string("OFCENC1\0", 8));
  // A fresh stream header per file: equal plaintexts give unrelated files.
  EXPECT_NE(a.substr(kHeader, 1000), b.substr(kHeader, 1000));
}

TEST_F(DataCrypto, WrongKeyOrContextFails) {
  encrypt(path("f"), key, "officina project 1", "riservato");
  expect_error(decrypt_file_to_string(path("f"), SecretKey::random(), "officina project 1"), "does not authenticate");
  expect_error(decrypt_file_to_string(path("f"), key, "officina project 2"), "does not authenticate");
  expect_error(decrypt_file_to_string(path("f"), key, ""), "wrong context");
  // Even an empty file carries a tag that only the right key opens.
  encrypt(path("empty"), key, "officina project 1", "");
  expect_error(decrypt_file_to_string(path("empty"), SecretKey::random(), "officina project 1"), "does not authenticate");
}

TEST_F(DataCrypto, AnyFlippedByteFails) {
  const std::string plain = random_text(2 * kChunk + 300, 7);
  encrypt(path("f"), key, "ctx", plain);
  const std::string good = test::read_file(path("f"));
  std::vector<size_t> offsets = {0, 7, 8, 12, 13, 16, 39, 40, kHeader + kChunk + kTag - 1, kHeader + kChunk + kTag,
                                 good.size() - 1};
  for (size_t at = 41; at < good.size(); at += 4099) offsets.push_back(at);
  for (size_t at : offsets) {
    std::string bad = good;
    bad[at] ^= 0x20;
    test::write_file(path("bad"), bad);
    EXPECT_FALSE(decrypt_file_to_string(path("bad"), key, "ctx")) << "flipped byte " << at;
  }
  test::write_file(path("bad"), "just some text, not encrypted at all");
  expect_error(decrypt_file_to_string(path("bad"), key, "ctx"), "bad magic");
  expect_error(decrypt_file_to_string(path("nothing-here"), key, "ctx"), "nothing-here");
}

TEST_F(DataCrypto, TruncatedAndExtendedFilesFail) {
  const std::string plain = random_text(2 * kChunk, 9);  // ends exactly on a chunk boundary
  encrypt(path("f"), key, "ctx", plain);
  const std::string good = test::read_file(path("f"));
  ASSERT_EQ(good.size(), kHeader + 2 * (kChunk + kTag));
  for (size_t keep : {size_t{0}, size_t{7}, size_t{39}, kHeader, kHeader + kTag - 1, kHeader + kChunk + kTag,
                      good.size() - 1}) {
    test::write_file(path("cut"), good.substr(0, keep));
    EXPECT_FALSE(decrypt_file_to_string(path("cut"), key, "ctx")) << "kept " << keep;
  }
  test::write_file(path("cut"), good.substr(0, kHeader + kChunk + kTag));
  expect_error(decrypt_file_to_string(path("cut"), key, "ctx"), "without its final chunk");
  test::write_file(path("cut"), good.substr(0, 20));
  expect_error(decrypt_file_to_string(path("cut"), key, "ctx"), "truncated in the header");

  test::write_file(path("long"), good + "x");
  expect_error(decrypt_file_to_string(path("long"), key, "ctx"), "after the final chunk");
  test::write_file(path("long"), good + good.substr(kHeader + kChunk + kTag));
  EXPECT_FALSE(decrypt_file_to_string(path("long"), key, "ctx"));
  encrypt(path("short"), key, "ctx", "poche righe");
  test::write_file(path("long"), test::read_file(path("short")) + "appeso");
  EXPECT_FALSE(decrypt_file_to_string(path("long"), key, "ctx"));
}

TEST_F(DataCrypto, ChunksCannotBeSplicedBetweenFiles) {
  encrypt(path("a"), key, "ctx", random_text(2 * kChunk + 10, 1));
  encrypt(path("b"), key, "ctx", random_text(2 * kChunk + 10, 2));
  std::string a = test::read_file(path("a"));
  const std::string b = test::read_file(path("b"));
  a.replace(kHeader + kChunk + kTag, kChunk + kTag, b.substr(kHeader + kChunk + kTag, kChunk + kTag));
  test::write_file(path("spliced"), a);
  expect_error(decrypt_file_to_string(path("spliced"), key, "ctx"), "chunk 1");
}

TEST_F(DataCrypto, UncommittedWriterLeavesNoFileAndKeepsTheOldOne) {
  {
    auto writer = EncryptedFileWriter::create(path("f"), key, "ctx");
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(random_text(3 * kChunk, 3)));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));

  encrypt(path("f"), key, "ctx", "versione 1");
  {
    auto writer = EncryptedFileWriter::create(path("f"), key, "ctx");
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(std::string_view("versione 2")));
    auto moved = std::move(*writer);  // a moved writer still owns the file
    EXPECT_EQ(*decrypt_file_to_string(path("f"), key, "ctx"), "versione 1");
  }
  EXPECT_EQ(*decrypt_file_to_string(path("f"), key, "ctx"), "versione 1");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(DataCrypto, WriterRefusesUseAfterCommit) {
  auto writer = EncryptedFileWriter::create(path("f"), key, "ctx");
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(std::string_view("a")));
  ASSERT_TRUE(writer->commit());
  expect_error(writer->write(std::string_view("b")), "write after commit");
  expect_error(writer->commit(), "already committed");
  expect_error(EncryptedFileWriter::create(path("no/such/dir/f"), key, "ctx"), "no/such/dir/f");
}

TEST_F(DataCrypto, SinkErrorsAndSizeLimitStopDecryption) {
  encrypt(path("f"), key, "ctx", random_text(3 * kChunk, 4));
  size_t calls = 0;
  auto stopped = decrypt_file(path("f"), key, "ctx", [&](std::span<const uint8_t>) -> Result<void> {
    ++calls;
    return fail("disk full");
  });
  expect_error(stopped, "disk full");
  EXPECT_EQ(calls, 1u);
  expect_error(decrypt_file_to_string(path("f"), key, "ctx", 2 * kChunk), "more than 131072 bytes");
  EXPECT_TRUE(decrypt_file_to_string(path("f"), key, "ctx", 3 * kChunk));
}

}  // namespace
}  // namespace officina
