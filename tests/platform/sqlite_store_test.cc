#include "platform/sqlite_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "platform/audit_chain.h"
#include "platform/sqlite_db.h"

namespace officina {
namespace {

TEST(SqliteStore, MigratesAFreshStoreAndReopensIt) {
  const auto path = std::filesystem::temp_directory_path() / ("officina-store-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto store = SqliteStore::open(path.string());
    ASSERT_TRUE(store) << store.error().message;
    auto version = (*store)->schema_version();
    ASSERT_TRUE(version);
    EXPECT_EQ(*version, SqliteStore::latest_schema_version());
    ASSERT_TRUE((*store)->insert_organization({"org_1", "Acme", OrgKind::startup, 10}));
  }
  {
    auto store = SqliteStore::open(path.string());
    ASSERT_TRUE(store) << store.error().message;
    auto org = (*store)->get_organization("org_1");
    ASSERT_TRUE(org && *org);
    EXPECT_EQ((*org)->name, "Acme");
    EXPECT_EQ((*org)->kind, OrgKind::startup);
    // WAL mode is on.
    auto mode = (*store)->raw_db().prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode);
    ASSERT_TRUE(mode->step());
    EXPECT_EQ(mode->column_text(0), "wal");
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

TEST(SqliteStore, RefusesAStoreFromANewerOfficina) {
  const auto path = std::filesystem::temp_directory_path() / ("officina-newer-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto db = SqliteDb::open(path.string());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 999"));
  }
  auto store = SqliteStore::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("newer officina"), std::string::npos) << store.error().message;
  std::filesystem::remove(path);
}

TEST(SqliteStore, RefusesAFileThatIsNotADatabase) {
  const auto path = std::filesystem::temp_directory_path() / ("officina-junk-" + std::to_string(::getpid()) + ".db");
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fputs("this is not an SQLite database, just some text that is long enough", f);
    std::fclose(f);
  }
  auto store = SqliteStore::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find(path.string()), std::string::npos) << store.error().message;
  std::filesystem::remove(path);
}

TEST(SqliteStore, RecordsRoundTrip) {
  auto opened = SqliteStore::open(":memory:");
  ASSERT_TRUE(opened) << opened.error().message;
  SqliteStore& s = **opened;
  ASSERT_TRUE(s.insert_organization({"org_a", "A", OrgKind::research, 1}));
  ASSERT_TRUE(s.insert_project({"proj_a", "org_a", "P", 2, std::nullopt}));
  // A project needs its organisation.
  EXPECT_FALSE(s.insert_project({"proj_x", "org_missing", "X", 2, std::nullopt}));
  ApiKeyRecord k{"key_1", "proj_a", Role::member, "$argon2id$x", "abcd", 3, 100, std::nullopt};
  ASSERT_TRUE(s.insert_api_key(k));
  ApiKeyRecord op{"key_op", "", Role::operator_role, "$argon2id$y", "wxyz", 3, std::nullopt, std::nullopt};
  ASSERT_TRUE(s.insert_api_key(op));
  auto keys = s.list_api_keys("proj_a");
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].role, Role::member);
  EXPECT_EQ((*keys)[0].expires_at, 100);
  auto ops = s.list_api_keys("");
  ASSERT_TRUE(ops);
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_EQ((*ops)[0].id, "key_op");
  auto revoked = s.revoke_api_key("key_1", 50);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  auto again = s.revoke_api_key("key_1", 60);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto got = s.get_api_key("key_1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->revoked_at, 50);

  ASSERT_TRUE(s.insert_allocation({"alloc_1", "proj_a", AccessTier::fast_lane, 100.5, 2, 10, 20, 5}));
  auto allocations = s.list_allocations("proj_a");
  ASSERT_TRUE(allocations);
  ASSERT_EQ(allocations->size(), 1u);
  EXPECT_EQ((*allocations)[0].tier, AccessTier::fast_lane);
  EXPECT_DOUBLE_EQ((*allocations)[0].core_hours, 100.5);

  ASSERT_TRUE(s.put_data_key("proj_a", {1, 2, 3}));
  auto dk = s.get_data_key("proj_a");
  ASSERT_TRUE(dk && *dk);
  EXPECT_EQ(**dk, (std::vector<uint8_t>{1, 2, 3}));
  auto destroyed = s.destroy_data_key("proj_a");
  ASSERT_TRUE(destroyed);
  EXPECT_TRUE(*destroyed);
  dk = s.get_data_key("proj_a");
  ASSERT_TRUE(dk);
  EXPECT_FALSE(*dk);
}

TEST(SqliteStore, AuditLogIsChainedAndAppendOnly) {
  auto opened = SqliteStore::open(":memory:");
  ASSERT_TRUE(opened);
  SqliteStore& s = **opened;
  for (int i = 0; i < 3; ++i) {
    AuditEntry e;
    e.at = 100 + i;
    e.actor = "cli";
    e.action = "test.action";
    e.resource = "r" + std::to_string(i);
    e.origin = "cli";
    e.detail = "{}";
    auto written = s.append_audit(e);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(written->seq, i + 1);
  }
  auto entries = s.list_audit(0, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].prev_hash, kAuditGenesis);
  EXPECT_EQ((*entries)[1].prev_hash, (*entries)[0].hash);
  EXPECT_EQ((*entries)[2].hash, audit_entry_hash((*entries)[2]));
  // The triggers refuse changes made through SQL.
  EXPECT_FALSE(s.raw_db().exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"));
  EXPECT_FALSE(s.raw_db().exec("DELETE FROM audit_log WHERE seq = 3"));
}

TEST(SqliteStore, FilesJobsEventsAndAdaptersRoundTrip) {
  auto opened = SqliteStore::open(":memory:");
  ASSERT_TRUE(opened) << opened.error().message;
  SqliteStore& s = **opened;
  ASSERT_TRUE(s.insert_organization({"org_a", "A", OrgKind::research, 1}));
  ASSERT_TRUE(s.insert_project({"proj_a", "org_a", "P", 2, std::nullopt}));
  for (int i = 0; i < 3; ++i) {
    FileRecord f;
    f.id = "file-" + std::to_string(i);
    f.project_id = "proj_a";
    f.filename = "train.jsonl";
    f.purpose = "fine-tune";
    f.bytes = 100 + i;
    f.wrapped_key = {9, 9, 9};
    ASSERT_TRUE(s.insert_file(f));
  }
  // Newest first, and the cursor continues after the given id.
  auto page = s.list_files("proj_a", "", 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "file-2");
  auto next = s.list_files("proj_a", (*page)[1].id, 2);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].id, "file-0");
  auto deleted = s.delete_file("file-1", 50);
  ASSERT_TRUE(deleted && *deleted);
  auto gone = s.get_file("file-1");
  ASSERT_TRUE(gone && *gone);
  EXPECT_EQ((*gone)->deleted_at, 50);
  EXPECT_TRUE((*gone)->wrapped_key.empty());

  JobRecord j;
  j.id = "ftjob-1";
  j.project_id = "proj_a";
  j.model = "base";
  j.training_file = "file-0";
  j.status = JobStatus::queued;
  ASSERT_TRUE(s.insert_job(j));
  j.status = JobStatus::running;
  j.started_at = 77;
  j.attempts = 1;
  ASSERT_TRUE(s.update_job(j));
  auto got = s.get_job("ftjob-1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, JobStatus::running);
  EXPECT_EQ((*got)->started_at, 77);
  auto running = s.jobs_with_status(JobStatus::running);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->size(), 1u);
  JobRecord ghost = j;
  ghost.id = "ftjob-missing";
  EXPECT_FALSE(s.update_job(ghost));

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.insert_job_event({0, "ftevent-" + std::to_string(i), "ftjob-1", 10 + i, "info", "message",
                                    "step " + std::to_string(i), ""}));
  }
  auto events = s.list_job_events("ftjob-1", "ftevent-2", 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message, "step 1");

  ASSERT_TRUE(s.insert_adapter({"ft:base:x:ftjob-1", "proj_a", "ftjob-1", "adapters/a.enc", {1, 2}, 5}));
  auto adapters = s.list_adapters("proj_a");
  ASSERT_TRUE(adapters);
  ASSERT_EQ(adapters->size(), 1u);
  auto removed = s.delete_adapter("ft:base:x:ftjob-1");
  ASSERT_TRUE(removed && *removed);
}

TEST(SqliteStatement, ReportsBindErrorsAndBadSql) {
  auto db = SqliteDb::open(":memory:");
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->prepare("SELEC nothing"));
  ASSERT_TRUE(db->exec("CREATE TABLE t (a INTEGER)"));
  auto s = db->prepare("INSERT INTO t(a) VALUES(?)");
  ASSERT_TRUE(s);
  s->bind(5, int64_t{1});  // no parameter 5
  auto ran = s->run();
  ASSERT_FALSE(ran);
  EXPECT_NE(ran.error().message.find("binding"), std::string::npos) << ran.error().message;
}

TEST(SqliteDb, TransactionRollsBackUnlessCommitted) {
  auto db = SqliteDb::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (a INTEGER)"));
  {
    auto tx = db->begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
  }
  {
    auto tx = db->begin();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
    ASSERT_TRUE(tx->commit());
  }
  auto s = db->prepare("SELECT group_concat(a) FROM t");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->step());
  EXPECT_EQ(s->column_text(0), "2");
}

}  // namespace
}  // namespace officina
