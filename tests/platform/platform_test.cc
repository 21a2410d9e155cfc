#include "platform/platform.h"

#include <gtest/gtest.h>

#include "platform/api_key.h"
#include "platform/sqlite_store.h"
#include "platform_test_util.h"

namespace officina {
namespace {

using testing::PlatformFixture;

TEST(ApiKey, MadeKeysVerifyAndOthersDoNot) {
  auto k = make_api_key();
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_TRUE(k->key.starts_with("sk-ofc-"));
  EXPECT_TRUE(k->hash.starts_with("$argon2id$"));
  EXPECT_EQ(api_key_id(k->key), k->id);
  EXPECT_TRUE(verify_api_key(k->key, k->hash));
  std::string wrong = k->key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(verify_api_key(wrong, k->hash));
  EXPECT_FALSE(verify_api_key(k->key, "plain"));
  // The hash holds nothing of the secret.
  EXPECT_EQ(k->hash.find(k->key.substr(24)), std::string::npos);
  EXPECT_FALSE(api_key_id("sk-ofc-short"));
  EXPECT_FALSE(api_key_id(std::string(200, 'a')));
  EXPECT_FALSE(api_key_id("sk-ofc-ZZZZZZZZZZZZZZZZ-0000000000000000000000000000000000000000"));
}

TEST_F(PlatformFixture, InitTwiceIsRefusedAndOpenNeedsInit) {
  auto again = Platform::init(dir_.string());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already"), std::string::npos);
  auto missing = Platform::open((dir_ / "nothing").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("admin init"), std::string::npos);
}

TEST_F(PlatformFixture, OperatorKeyAuthenticates) {
  auto who = platform_->authenticate(operator_key_);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_TRUE(who->is_operator());
  EXPECT_TRUE(who->project_id.empty());
  // Cached the second time, still right.
  auto again = platform_->authenticate(operator_key_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->key_id, who->key_id);
  for (std::string bad : {std::string(""), std::string("sk-officina-123"), operator_key_ + "x",
                          operator_key_.substr(0, operator_key_.size() - 1) + "0"}) {
    if (bad == operator_key_) continue;
    auto r = platform_->authenticate(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 401);
  }
}

TEST_F(PlatformFixture, TenancyAndRoles) {
  auto a = make_tenant("alpha");
  EXPECT_EQ(a.who.role, Role::owner);
  EXPECT_EQ(a.who.project_id, a.project.id);
  // Bad input.
  EXPECT_EQ(platform_->create_organization(cli_operator(), "t", "", "sme").error().status, 400);
  EXPECT_EQ(platform_->create_organization(cli_operator(), "t", "X", "bank").error().status, 400);
  EXPECT_EQ(platform_->create_organization(cli_operator(), "t", std::string(129, 'x'), "sme").error().status, 400);
  EXPECT_EQ(platform_->create_organization(cli_operator(), "t", "a\nb", "sme").error().status, 400);
  EXPECT_EQ(platform_->create_project(cli_operator(), "t", "org_missing", "p").error().status, 404);
  // Tenants cannot create tenants.
  EXPECT_EQ(platform_->create_organization(a.who, "t", "X", "sme").error().status, 403);
  EXPECT_EQ(platform_->create_project(a.who, "t", a.org.id, "more").error().status, 403);
  // An owner makes a viewer key; the viewer cannot make keys.
  auto viewer_key = platform_->create_api_key(a.who, "t", a.project.id, "viewer", std::nullopt);
  ASSERT_TRUE(viewer_key) << viewer_key.error().message;
  auto viewer = platform_->authenticate(viewer_key->second);
  ASSERT_TRUE(viewer);
  EXPECT_FALSE(viewer->can_write());
  EXPECT_EQ(platform_->create_api_key(*viewer, "t", a.project.id, "owner", std::nullopt).error().status, 403);
  EXPECT_EQ(platform_->revoke_api_key(*viewer, "t", a.who.key_id).error().status, 403);
  // Nobody but the operator makes operator keys.
  EXPECT_EQ(platform_->create_api_key(a.who, "t", "", "operator", std::nullopt).error().status, 403);
  EXPECT_EQ(platform_->create_api_key(cli_operator(), "t", a.project.id, "operator", std::nullopt).error().status, 400);
  EXPECT_EQ(platform_->create_api_key(cli_operator(), "t", a.project.id, "admin", std::nullopt).error().status, 400);
  // Listing: a tenant sees its own organisation and project only.
  auto orgs = platform_->list_organizations(a.who);
  ASSERT_TRUE(orgs);
  ASSERT_EQ(orgs->size(), 1u);
  EXPECT_EQ((*orgs)[0].id, a.org.id);
}

TEST_F(PlatformFixture, ProjectsAreIsolated) {
  auto a = make_tenant("alpha");
  auto b = make_tenant("beta");
  EXPECT_EQ(platform_->get_project(a.who, b.project.id).error().status, 404);
  EXPECT_EQ(platform_->get_organization(a.who, b.org.id).error().status, 404);
  EXPECT_EQ(platform_->list_api_keys(a.who, b.project.id).error().status, 404);
  EXPECT_EQ(platform_->get_api_key(a.who, b.who.key_id).error().status, 404);
  EXPECT_EQ(platform_->revoke_api_key(a.who, "t", b.who.key_id).error().status, 404);
  EXPECT_EQ(platform_->list_allocations(a.who, b.project.id).error().status, 404);
  EXPECT_EQ(platform_->usage(a.who, b.project.id).error().status, 404);
  EXPECT_EQ(platform_->create_api_key(a.who, "t", b.project.id, "member", std::nullopt).error().status, 404);
  EXPECT_EQ(platform_->delete_project(a.who, "t", b.project.id).error().status, 404);
  EXPECT_EQ(platform_->list_api_keys(a.who, "").error().status, 403);
  auto projects = platform_->list_projects(a.who, "");
  ASSERT_TRUE(projects);
  ASSERT_EQ(projects->size(), 1u);
  EXPECT_EQ((*projects)[0].id, a.project.id);
  // And B still works.
  EXPECT_TRUE(platform_->get_project(b.who, b.project.id));
}

TEST_F(PlatformFixture, RevokedAndExpiredKeysAreRefused) {
  auto a = make_tenant("alpha");
  auto member = platform_->create_api_key(a.who, "t", a.project.id, "member", clock_ + 3600);
  ASSERT_TRUE(member);
  ASSERT_TRUE(platform_->authenticate(member->second));
  clock_ += 3600;
  auto expired = platform_->authenticate(member->second);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().status, 401);
  EXPECT_EQ(expired.error().code, "expired_api_key");
  EXPECT_EQ(platform_->create_api_key(a.who, "t", a.project.id, "member", clock_ - 1).error().status, 400);

  auto revoked = platform_->revoke_api_key(cli_operator(), "t", a.who.key_id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked_at);
  auto refused = platform_->authenticate(a.key);  // was cached: revocation still wins
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "revoked_api_key");
}

TEST_F(PlatformFixture, AllocationsFollowTheTiers) {
  auto a = make_tenant("alpha");
  const int64_t day = 86400;
  auto grant = [&](const std::string& tier, double core, int64_t days) {
    return platform_->create_allocation(cli_operator(), "t", a.project.id, {tier, core, 0, clock_, clock_ + days * day});
  };
  EXPECT_EQ(grant("playground", 5000, 30).error().param, "core_hours");
  EXPECT_EQ(grant("playground", 100, 200).error().param, "ends_at");
  EXPECT_EQ(grant("playground", 100, 7).error().param, "ends_at");
  EXPECT_EQ(grant("gold", 100, 30).error().param, "tier");
  EXPECT_EQ(grant("fast_lane", -1, 30).error().param, "core_hours");
  EXPECT_EQ(grant("fast_lane", std::nan(""), 30).error().param, "core_hours");
  EXPECT_EQ(platform_->create_allocation(a.who, "t", a.project.id, {"playground", 10, 0, clock_, clock_ + 30 * day})
                .error().status, 403);
  auto ok = grant("playground", 10, 30);
  ASSERT_TRUE(ok) << ok.error().message;

  auto budget = platform_->check_budget(a.project.id, 4, 0);
  ASSERT_TRUE(budget) << budget.error().message;
  EXPECT_EQ(budget->id, ok->id);
  ASSERT_TRUE(platform_->record_usage({0, a.project.id, ok->id, "ftjob-1", 8, 0, clock_, clock_ + 100}));
  auto spent = platform_->check_budget(a.project.id, 4, 0);
  ASSERT_FALSE(spent);
  EXPECT_EQ(spent.error().status, 429);
  EXPECT_EQ(spent.error().code, "insufficient_quota");
  EXPECT_NE(spent.error().message.find("has 2.00 core-hours"), std::string::npos) << spent.error().message;
  EXPECT_FALSE(platform_->check_budget(a.project.id, 0, 1));  // no GPU hours granted

  auto report = platform_->usage(a.who, a.project.id);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->allocations.size(), 1u);
  EXPECT_DOUBLE_EQ(report->allocations[0].used_core_hours, 8);
  EXPECT_TRUE(report->allocations[0].active);
  ASSERT_EQ(report->months.size(), 1u);
  EXPECT_EQ(report->months[0].month, "2026-09");

  clock_ += 31 * day;  // past its end
  auto ended = platform_->check_budget(a.project.id, 1, 0);
  ASSERT_FALSE(ended);
  EXPECT_NE(ended.error().message.find("ended"), std::string::npos) << ended.error().message;
  auto b = make_tenant("beta");
  EXPECT_NE(platform_->check_budget(b.project.id, 1, 0).error().message.find("no compute allocation"),
            std::string::npos);
}

TEST_F(PlatformFixture, DeletingAProjectRevokesEverythingAndGivesAReceipt) {
  auto a = make_tenant("alpha");
  auto viewer = platform_->create_api_key(a.who, "t", a.project.id, "viewer", std::nullopt);
  ASSERT_TRUE(viewer);
  auto viewer_who = platform_->authenticate(viewer->second);
  ASSERT_TRUE(viewer_who);
  EXPECT_EQ(platform_->delete_project(*viewer_who, "t", a.project.id).error().status, 403);
  auto receipt = platform_->delete_project(a.who, "t", a.project.id);
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(receipt->project_id, a.project.id);
  EXPECT_EQ(receipt->destroyed.size(), 3u);  // two keys and the project
  EXPECT_FALSE(receipt->audit_hash.empty());
  EXPECT_EQ(platform_->authenticate(a.key).error().status, 401);
  EXPECT_EQ(platform_->get_project(cli_operator(), a.project.id).error().status, 404);
  auto projects = platform_->list_projects(cli_operator(), "");
  ASSERT_TRUE(projects);
  EXPECT_TRUE(projects->empty());
}

TEST_F(PlatformFixture, AuditVerifyDetectsATamperedRow) {
  auto a = make_tenant("alpha");
  ASSERT_TRUE(platform_->revoke_api_key(cli_operator(), "10.0.0.1", a.who.key_id));
  auto verdict = platform_->verify_audit();
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->ok) << verdict->reason;
  EXPECT_GE(verdict->entries, 5);
  auto entries = platform_->audit_entries(cli_operator(), 0, 100);
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->back().action, "api_key.revoke");
  EXPECT_EQ(entries->back().origin, "10.0.0.1");
  EXPECT_EQ(platform_->audit_entries(a.who, 0, 100).error().status, 403);

  // Mallory edits a row behind the store's back.
  auto& raw = static_cast<SqliteStore&>(platform_->store()).raw_db();
  ASSERT_TRUE(raw.exec("DROP TRIGGER audit_log_no_update"));
  ASSERT_TRUE(raw.exec("UPDATE audit_log SET origin = 'elsewhere' WHERE seq = 3"));
  verdict = platform_->verify_audit();
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  EXPECT_EQ(verdict->first_bad_seq, 3);
  EXPECT_NE(verdict->reason.find("changed"), std::string::npos) << verdict->reason;
}

TEST_F(PlatformFixture, AuditVerifyDetectsRemovedEntries) {
  make_tenant("alpha");
  auto& raw = static_cast<SqliteStore&>(platform_->store()).raw_db();
  ASSERT_TRUE(raw.exec("DROP TRIGGER audit_log_no_delete"));
  ASSERT_TRUE(raw.exec("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"));
  auto verdict = platform_->verify_audit();
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  EXPECT_NE(verdict->reason.find("removed"), std::string::npos) << verdict->reason;
  ASSERT_TRUE(raw.exec("DELETE FROM audit_log WHERE seq = 2"));
  verdict = platform_->verify_audit();
  ASSERT_TRUE(verdict);
  EXPECT_FALSE(verdict->ok);
  EXPECT_EQ(verdict->first_bad_seq, 3);
}

}  // namespace
}  // namespace officina
