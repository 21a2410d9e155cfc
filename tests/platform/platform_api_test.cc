// The platform API over HTTP: a real server on a loopback port with the
// platform mounted, driven by an HTTP client.
#include "platform/platform_api.h"

#include <httplib.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "platform_test_util.h"
#include "serve/serve_test_util.h"

namespace officina {
namespace {

using nlohmann::json;

class PlatformApi : public testing::PlatformFixture {
 protected:
  void SetUp() override {
    PlatformFixture::SetUp();
    ASSERT_TRUE(serve_.model);
    ServerOptions options;
    options.authenticator = platform_authenticator(*platform_);
    options.port = 0;
    options.http_threads = 8;
    SchedulerOptions scheduler;
    scheduler.context = 256;
    scheduler.parallel = 2;
    scheduler.threads = 1;
    auto server = Server::create(*serve_.model, options, scheduler);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    mount_platform_api(*server_, *platform_);
    auto port = server_->bind();
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    PlatformFixture::TearDown();
  }

  struct Reply {
    int status = 0;
    json body;
  };
  Reply call(const std::string& method, const std::string& path, const std::string& key, const std::string& body = "") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    httplib::Result r = method == "GET"      ? client.Get(path, headers)
                        : method == "DELETE" ? client.Delete(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!r) return {-1, {}};
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  test::ServeFixture serve_{1};
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(PlatformApi, OperatorOnboardsATenant) {
  auto org = call("POST", "/v1/organizations", operator_key_, R"({"name": "Officine Bianchi", "kind": "sme"})");
  ASSERT_EQ(org.status, 201) << org.body.dump();
  EXPECT_EQ(org.body["object"], "organization");
  const std::string org_id = org.body["id"];
  auto project = call("POST", "/v1/organizations/" + org_id + "/projects", operator_key_, R"({"name": "twin"})");
  ASSERT_EQ(project.status, 201) << project.body.dump();
  const std::string project_id = project.body["id"];
  const int64_t now = clock_;
  auto allocation = call("POST", "/v1/projects/" + project_id + "/allocations", operator_key_,
                         json{{"tier", "playground"}, {"core_hours", 100}, {"starts_at", now},
                              {"ends_at", now + 40 * 86400}}.dump());
  ASSERT_EQ(allocation.status, 201) << allocation.body.dump();
  auto key = call("POST", "/v1/projects/" + project_id + "/api_keys", operator_key_, R"({"role": "owner"})");
  ASSERT_EQ(key.status, 201) << key.body.dump();
  const std::string tenant_key = key.body["key"];
  EXPECT_TRUE(tenant_key.starts_with("sk-ofc-"));
  EXPECT_EQ(key.body["redacted_value"], "sk-ofc-..." + tenant_key.substr(tenant_key.size() - 4));

  // The tenant sees its project, allocation and usage; the key list never shows keys or hashes.
  auto mine = call("GET", "/v1/projects", tenant_key);
  ASSERT_EQ(mine.status, 200);
  ASSERT_EQ(mine.body["data"].size(), 1u);
  EXPECT_EQ(mine.body["data"][0]["id"], project_id);
  auto usage = call("GET", "/v1/projects/" + project_id + "/usage", tenant_key);
  ASSERT_EQ(usage.status, 200) << usage.body.dump();
  EXPECT_EQ(usage.body["allocations"][0]["remaining_core_hours"], 100.0);
  auto keys = call("GET", "/v1/projects/" + project_id + "/api_keys", tenant_key);
  ASSERT_EQ(keys.status, 200);
  EXPECT_EQ(keys.body.dump().find("argon2"), std::string::npos);
  EXPECT_EQ(keys.body.dump().find(tenant_key), std::string::npos);
  // The inference API takes the tenant key too.
  auto models = call("GET", "/v1/models", tenant_key);
  ASSERT_EQ(models.status, 200);
  // The audit log holds each step, with the client's address.
  auto audit = call("GET", "/v1/audit?limit=100", operator_key_);
  ASSERT_EQ(audit.status, 200);
  EXPECT_EQ(audit.body["data"].back()["action"], "api_key.create");
  EXPECT_EQ(audit.body["data"].back()["origin"], "127.0.0.1");
  auto verify = call("GET", "/v1/audit/verify", operator_key_);
  ASSERT_EQ(verify.status, 200);
  EXPECT_EQ(verify.body["ok"], true);
}

TEST_F(PlatformApi, IsolationMatrix) {
  auto a = make_tenant("alpha");
  auto b = make_tenant("beta");
  ASSERT_TRUE(platform_->create_allocation(cli_operator(), "t", b.project.id,
                                           {"playground", 10, 0, clock_, clock_ + 30 * 86400}));
  auto b_viewer = platform_->create_api_key(cli_operator(), "t", b.project.id, "viewer", std::nullopt);
  ASSERT_TRUE(b_viewer);
  // An adapter of project B.
  ASSERT_TRUE(server_->adapters().add("beta-adapter", serve_.adapter_path(0), b.project.id));

  const std::string P = "/v1/projects/" + b.project.id;
  const std::vector<std::pair<std::string, std::string>> reads = {
      {"GET", P}, {"GET", P + "/allocations"}, {"GET", P + "/usage"}, {"GET", P + "/api_keys"},
      {"GET", "/v1/api_keys/" + b.who.key_id}, {"GET", "/v1/organizations/" + b.org.id},
      {"GET", "/v1/models/beta-adapter"}};
  for (const auto& [method, path] : reads) {
    auto r = call(method, path, a.key);
    EXPECT_TRUE(r.status == 404 || r.status == 403) << method << " " << path << " -> " << r.status;
    EXPECT_TRUE(r.body.contains("error")) << path;
    EXPECT_EQ(call(method, path, b.key).status, 200) << method << " " << path;
  }
  const std::vector<std::tuple<std::string, std::string, std::string>> writes = {
      {"POST", P + "/api_keys", R"({"role": "member"})"},
      {"POST", P + "/allocations", R"({"tier": "playground", "core_hours": 1, "starts_at": 1, "ends_at": 2})"},
      {"DELETE", "/v1/api_keys/" + b.who.key_id, ""},
      {"DELETE", P, ""},
      {"POST", "/v1/chat/completions", R"({"model": "beta-adapter", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})"},
      {"DELETE", "/v1/adapters/beta-adapter", ""}};
  for (const auto& [method, path, body] : writes) {
    auto r = call(method, path, a.key, body);
    EXPECT_TRUE(r.status == 404 || r.status == 403) << method << " " << path << " -> " << r.status;
  }
  // B's adapter is not listed for A, and is for B.
  EXPECT_EQ(call("GET", "/v1/models", a.key).body.dump().find("beta-adapter"), std::string::npos);
  EXPECT_NE(call("GET", "/v1/models", b.key).body.dump().find("beta-adapter"), std::string::npos);
  auto chat = call("POST", "/v1/chat/completions", b.key,
                   R"({"model": "beta-adapter", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})");
  EXPECT_EQ(chat.status, 200) << chat.body.dump();
  // Viewers read but do not write.
  EXPECT_EQ(call("GET", P, b_viewer->second).status, 200);
  EXPECT_EQ(call("POST", P + "/api_keys", b_viewer->second, R"({"role": "viewer"})").status, 403);
  EXPECT_EQ(call("DELETE", "/v1/adapters/beta-adapter", b_viewer->second).status, 403);
  EXPECT_EQ(call("DELETE", P, b_viewer->second).status, 403);
  // Tenants do not load adapters from server paths, nor read the audit log.
  EXPECT_EQ(call("POST", "/v1/adapters", b.key, json{{"name", "x"}, {"path", serve_.adapter_path(0)}}.dump()).status,
            403);
  EXPECT_EQ(call("GET", "/v1/audit", b.key).status, 403);
  EXPECT_EQ(call("GET", "/v1/api_keys", b.key).status, 403);
  // Everything of B is still there.
  EXPECT_EQ(call("GET", P, b.key).status, 200);
  EXPECT_TRUE(server_->adapters().contains("beta-adapter"));
}

TEST_F(PlatformApi, RevokedExpiredAndMissingKeysAreRefused) {
  auto a = make_tenant("alpha");
  auto short_lived = platform_->create_api_key(cli_operator(), "t", a.project.id, "member", clock_ + 10);
  ASSERT_TRUE(short_lived);
  EXPECT_EQ(call("GET", "/v1/projects", short_lived->second).status, 200);
  clock_ += 11;
  auto expired = call("GET", "/v1/models", short_lived->second);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.body["error"]["code"], "expired_api_key");
  ASSERT_EQ(call("DELETE", "/v1/api_keys/" + a.who.key_id, operator_key_).status, 200);
  auto revoked = call("GET", "/v1/projects", a.key);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.body["error"]["code"], "revoked_api_key");
  EXPECT_EQ(call("POST", "/v1/chat/completions", a.key, "{}").status, 401);
  EXPECT_EQ(call("GET", "/v1/projects", "").status, 401);
  EXPECT_EQ(call("GET", "/v1/projects", "sk-ofc-0000000000000000-0000000000000000000000000000000000000000").status, 401);
  EXPECT_EQ(call("GET", "/v1/projects", std::string(5000, 'k')).status, 401);
}

TEST_F(PlatformApi, BadRequestsGetClearErrors) {
  struct Case {
    std::string path, body, param;
  };
  auto org = platform_->create_organization(cli_operator(), "t", "o", "sme");
  ASSERT_TRUE(org);
  auto project = platform_->create_project(cli_operator(), "t", org->id, "p");
  ASSERT_TRUE(project);
  const std::string A = "/v1/projects/" + project->id + "/allocations";
  const std::vector<Case> cases = {
      {"/v1/organizations", "not json", ""},
      {"/v1/organizations", "[1, 2]", ""},
      {"/v1/organizations", R"({"name": 5, "kind": "sme"})", "name"},
      {"/v1/organizations", R"({"kind": "sme"})", "name"},
      {"/v1/organizations", R"({"name": "x", "kind": "bank"})", "kind"},
      {"/v1/organizations", "{\"name\": \"" + std::string(300, 'x') + "\", \"kind\": \"sme\"}", "name"},
      {"/v1/organizations/" + org->id + "/projects", R"({"name": ""})", "name"},
      {A, R"({"tier": "playground", "core_hours": "lots", "starts_at": 1, "ends_at": 2})", "core_hours"},
      {A, R"({"tier": "playground", "core_hours": 10, "starts_at": -5, "ends_at": 2})", "starts_at"},
      {A, R"({"tier": "playground", "core_hours": 10, "starts_at": 1.5, "ends_at": 2})", "starts_at"},
      {A, R"({"tier": "playground", "core_hours": 1e300, "starts_at": 1, "ends_at": 2})", "core_hours"},
      {A, R"({"tier": "playground", "core_hours": 10, "starts_at": 100, "ends_at": 50})", "ends_at"},
      {"/v1/projects/" + project->id + "/api_keys", R"({"role": "god"})", "role"},
      {"/v1/projects/" + project->id + "/api_keys", R"({"role": "owner", "expires_at": "soon"})", "expires_at"},
  };
  for (const Case& c : cases) {
    auto r = call("POST", c.path, operator_key_, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << " -> " << r.body.dump();
    ASSERT_TRUE(r.body.contains("error")) << c.body;
    EXPECT_FALSE(r.body["error"]["message"].get<std::string>().empty());
    if (!c.param.empty()) {
      EXPECT_EQ(r.body["error"]["param"], c.param) << c.body;
    }
  }
  EXPECT_EQ(call("GET", "/v1/projects/proj_nothing", operator_key_).status, 404);
  EXPECT_EQ(call("GET", "/v1/audit?after=abc", operator_key_).status, 400);
  EXPECT_EQ(call("GET", "/v1/audit?limit=0", operator_key_).status, 400);
  // Nothing was created by the failed calls.
  auto orgs = platform_->list_organizations(cli_operator());
  ASSERT_TRUE(orgs);
  EXPECT_EQ(orgs->size(), 1u);
}

TEST_F(PlatformApi, DeletingAProjectOverHttpReturnsAReceipt) {
  auto a = make_tenant("alpha");
  auto r = call("DELETE", "/v1/projects/" + a.project.id, a.key);
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["object"], "project.deleted");
  EXPECT_EQ(r.body["deleted"], true);
  EXPECT_FALSE(r.body["destroyed"].empty());
  EXPECT_EQ(call("GET", "/v1/projects", a.key).status, 401);
  EXPECT_EQ(call("GET", "/v1/projects/" + a.project.id, operator_key_).status, 404);
}

}  // namespace
}  // namespace officina
