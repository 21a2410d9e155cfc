#include "platform/tar_writer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace officina {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TarWriter, ArchivesReadBackWithTar) {
  std::string archive;
  TarWriter tar([&](std::string_view bytes) {
    archive.append(bytes);
    return true;
  });
  const std::string long_name = "files/" + std::string(60, 'd') + "/" + std::string(90, 'n') + ".jsonl";
  std::string big(70000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(tar.add("project.json", "{\"id\": 1}\n", 1790000000));
  ASSERT_TRUE(tar.add("empty.txt", "", 0));
  ASSERT_TRUE(tar.add(long_name, "with a long name", 1790000000));
  ASSERT_TRUE(tar.add("models/big.bin", big, 1790000000));
  ASSERT_TRUE(tar.finish());
  EXPECT_EQ(archive.size() % 512, 0u);
  // The first header's checksum is right.
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(archive[i]);
  EXPECT_EQ(std::stoul(archive.substr(148, 6), nullptr, 8), sum);
  // And tar itself agrees.
  const auto dir = std::filesystem::temp_directory_path() / ("officina-tar-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "a.tar", std::ios::binary) << archive; }
  const int status = std::system(("cd " + dir.string() + " && tar -xf a.tar 2> tar.err").c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_all(dir / "tar.err");
  EXPECT_EQ(read_all(dir / "project.json"), "{\"id\": 1}\n");
  EXPECT_EQ(read_all(dir / long_name), "with a long name");
  EXPECT_EQ(read_all(dir / "models/big.bin"), big);
  EXPECT_TRUE(std::filesystem::exists(dir / "empty.txt"));
  std::filesystem::remove_all(dir);
}

TEST(TarWriter, RefusesBadNamesAndWrongSizes) {
  std::string archive;
  TarWriter tar([&](std::string_view bytes) {
    archive.append(bytes);
    return true;
  });
  EXPECT_FALSE(tar.add("", "x", 0));
  EXPECT_FALSE(tar.add(std::string(300, 'x'), "x", 0));
  EXPECT_FALSE(tar.add(std::string(150, 'x'), "x", 0));  // no '/' to split at
  auto short_fill = tar.add("a", 10, 0, [](const std::function<bool(std::string_view)>& out) -> Result<void> {
    out("12345");
    return {};
  });
  ASSERT_FALSE(short_fill);
  EXPECT_NE(short_fill.error().message.find("announced with 10 bytes"), std::string::npos);
  EXPECT_FALSE(tar.finish());  // a failed archive stays failed
  TarWriter stopped([](std::string_view) { return false; });
  EXPECT_FALSE(stopped.add("a", "x", 0));
}

}  // namespace
}  // namespace officina
