// Uploads: validated while streamed, encrypted at rest, isolated per
// project, gone for good once deleted.
#include "platform/file_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/model_chat_template.h"
#include "model/model_test_util.h"
#include "platform/sqlite_store.h"
#include "platform_test_util.h"

namespace officina {
namespace {

const std::string kSecret = "Il codice segreto della pressa 7 è ZEBRA-4491";

std::string lines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += R"({"messages": [{"role": "user", "content": "Qual è il codice?"}, {"role": "assistant", "content": ")" +
           kSecret + R"("}]})" "\n";
  }
  return out;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FileServiceTest : public testing::PlatformFixture {
 protected:
  void SetUp() override {
    if (!tiny_.available()) GTEST_SKIP() << tiny_.path << " is missing";
    PlatformFixture::SetUp();
    ASSERT_TRUE(tiny_.load());
    files_ = std::make_unique<FileService>(*platform_, tiny_.check, 64 * 1024);
  }

  ApiResult<FileRecord> upload(const Principal& who, const std::string& text, const std::string& purpose = "fine-tune",
                               size_t piece = 1000) {
    auto up = files_->begin_upload(who);
    if (!up) return std::unexpected(up.error());
    for (size_t pos = 0; pos < text.size(); pos += piece) {
      auto ok = (*up)->write(std::string_view(text).substr(pos, piece));
      if (!ok) return std::unexpected(ok.error());
    }
    return files_->finish_upload(who, "test", std::move(*up), "data.jsonl", purpose);
  }

  testing::TinyModel tiny_;
  std::unique_ptr<FileService> files_;
};

TEST_F(FileServiceTest, StoredFilesHoldNoPlaintextAndReadBack) {
  auto a = make_tenant("alpha");
  const std::string text = lines(20);
  auto file = upload(a.who, text);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->bytes, static_cast<int64_t>(text.size()));
  auto stats = nlohmann::json::parse(file->report);
  EXPECT_EQ(stats["samples"], 20);
  EXPECT_EQ(stats["format"], "chat");
  const std::string stored = read_all(files_->file_path(a.project.id, file->id));
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.find("ZEBRA"), std::string::npos);
  EXPECT_EQ(stored.find("pressa"), std::string::npos);
  EXPECT_EQ(stored.find("messages"), std::string::npos);
  // Nor does the store.
  const std::string db = read_all(dir_ / "officina.db") + read_all(dir_ / "officina.db-wal");
  EXPECT_EQ(db.find("ZEBRA"), std::string::npos);
  auto back = files_->content(a.who, file->id);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, text);
}

TEST_F(FileServiceTest, ProjectsCannotReachEachOthersFiles) {
  auto a = make_tenant("alpha");
  auto b = make_tenant("beta");
  auto file = upload(a.who, lines(2));
  ASSERT_TRUE(file);
  EXPECT_EQ(files_->get(b.who, file->id).error().status, 404);
  EXPECT_EQ(files_->content(b.who, file->id).error().status, 404);
  EXPECT_EQ(files_->remove(b.who, "t", file->id).error().status, 404);
  bool more = false;
  auto listed = files_->list(b.who, "", 100, &more);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  // A's file under B's project key does not decrypt (the wrapping is bound to the project).
  auto record = platform_->store().get_file(file->id);
  ASSERT_TRUE(record && *record);
  EXPECT_FALSE(platform_->open_object_key(b.project.id, (*record)->wrapped_key, FileService::file_context(file->id)));
  EXPECT_TRUE(files_->content(a.who, file->id));
}

TEST_F(FileServiceTest, BadUploadsAreRefusedAndLeaveNothing) {
  auto a = make_tenant("alpha");
  auto viewer = platform_->create_api_key(cli_operator(), "t", a.project.id, "viewer", std::nullopt);
  auto viewer_who = platform_->authenticate(viewer->second);
  EXPECT_EQ(files_->begin_upload(*viewer_who).error().status, 403);
  EXPECT_EQ(files_->begin_upload(cli_operator()).error().status, 400);

  auto malformed = upload(a.who, lines(2) + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().status, 400);
  EXPECT_NE(malformed.error().message.find("line 3"), std::string::npos) << malformed.error().message;
  auto not_json = upload(a.who, "this is not json\n");
  ASSERT_FALSE(not_json);
  EXPECT_NE(not_json.error().message.find("line 1"), std::string::npos) << not_json.error().message;
  auto empty = upload(a.who, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().status, 400);
  auto purpose = upload(a.who, lines(2), "assistants");
  ASSERT_FALSE(purpose);
  EXPECT_EQ(purpose.error().param, "purpose");
  auto big = upload(a.who, lines(1000));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().status, 413);
  auto truncated = upload(a.who, lines(2) + R"({"messages": [{"role": "user", "con)");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().status, 400);
  // None of them left a file, in the store or on disk.
  bool more = false;
  auto listed = files_->list(a.who, "", 100, &more);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  const auto root = dir_ / "files";
  int on_disk = 0;
  if (std::filesystem::exists(root)) {
    for (auto& e : std::filesystem::recursive_directory_iterator(root)) on_disk += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(on_disk, 0);
}

TEST_F(FileServiceTest, DeletingAFileOrItsProjectShredsIt) {
  auto a = make_tenant("alpha");
  auto keep = upload(a.who, lines(2));
  auto drop = upload(a.who, lines(3));
  ASSERT_TRUE(keep && drop);
  const std::string drop_path = files_->file_path(a.project.id, drop->id);
  auto removed = files_->remove(a.who, "t", drop->id);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(std::filesystem::exists(drop_path));
  EXPECT_EQ(files_->get(a.who, drop->id).error().status, 404);
  auto record = platform_->store().get_file(drop->id);
  ASSERT_TRUE(record && *record);
  EXPECT_TRUE((*record)->wrapped_key.empty());  // a stolen copy of the bytes has no key any more

  // Whole project: the data key goes, so even a copy of the file and of its
  // wrapped key made before the deletion can no longer be opened.
  const std::string keep_path = files_->file_path(a.project.id, keep->id);
  auto keep_record = platform_->store().get_file(keep->id);
  const std::vector<uint8_t> wrapped_copy = (*keep_record)->wrapped_key;
  auto receipt = platform_->delete_project(a.who, "t", a.project.id);
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_NE(std::find(receipt->destroyed.begin(), receipt->destroyed.end(), "file " + keep->id),
            receipt->destroyed.end());
  EXPECT_NE(std::find(receipt->destroyed.begin(), receipt->destroyed.end(), "data_key " + a.project.id),
            receipt->destroyed.end());
  EXPECT_FALSE(std::filesystem::exists(keep_path));
  EXPECT_FALSE(platform_->project_key(a.project.id));
  EXPECT_FALSE(platform_->open_object_key(a.project.id, wrapped_copy, FileService::file_context(keep->id)));
  auto raw = static_cast<SqliteStore&>(platform_->store()).get_data_key(a.project.id);
  ASSERT_TRUE(raw);
  EXPECT_FALSE(*raw);
}

TEST_F(FileServiceTest, OrphansOfACrashedUploadAreCleaned) {
  auto a = make_tenant("alpha");
  auto kept = upload(a.who, lines(2));
  ASSERT_TRUE(kept);
  // What a crash leaves: an upload's temporary file, and a sealed file that
  // was renamed into place but never recorded.
  const auto stray = std::filesystem::path(files_->file_path(a.project.id, "file-000000000000000000000000"));
  { std::ofstream(stray) << "sealed bytes of a file never recorded"; }
  const auto temp = std::filesystem::path(files_->file_path(a.project.id, "file-111111111111111111111111") + ".tmp.99");
  { std::ofstream(temp) << "half an upload"; }
  auto cleaned = files_->clean_orphans();
  ASSERT_TRUE(cleaned) << cleaned.error().message;
  EXPECT_EQ(*cleaned, 2);
  EXPECT_FALSE(std::filesystem::exists(stray));
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_TRUE(std::filesystem::exists(files_->file_path(a.project.id, kept->id)));
  bool more = false;
  EXPECT_EQ(files_->list(a.who, "", 10, &more)->size(), 1u);
}

}  // namespace
}  // namespace officina
