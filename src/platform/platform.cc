#include "platform/platform.h"
#include "platform/platform_errors.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "platform/api_key.h"
#include "platform/sqlite_store.h"

namespace officina {
namespace {

constexpr const char* kStoreFile = "officina.db";
constexpr const char* kMasterKeyFile = "master.key";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Principal cli_operator() { return Principal{"cli", Role::operator_role, ""}; }

Platform::Platform(std::string data_dir, std::unique_ptr<Store> store, SecretKey master)
    : data_dir_(std::move(data_dir)), master_(std::move(master)), store_(std::move(store)), clock_(unix_now) {}

Platform::~Platform() = default;

Result<InitResult> Platform::init(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return fail("{}: cannot create the data directory: {}", data_dir, ec.message());
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  const std::string db_path = (fs::path(data_dir) / kStoreFile).string();
  if (fs::exists(db_path)) {
    return fail("{}: an officina instance is already there ({}); use it, or choose another --data-dir", data_dir,
                db_path);
  }
  OFFICINA_TRY(SecretKey master, load_or_create_master_key((fs::path(data_dir) / kMasterKeyFile).string()));
  OFFICINA_TRY(auto store, SqliteStore::open(db_path));
  std::unique_ptr<Platform> platform(new Platform(data_dir, std::move(store), std::move(master)));
  InitResult result;
  result.instance_id = "inst_" + random_hex(12);
  OFFICINA_CHECK(platform->store_->set_meta("instance_id", result.instance_id));
  OFFICINA_CHECK(platform->store_->set_meta("created_at", std::to_string(platform->now())));
  auto key = platform->create_api_key(cli_operator(), "cli", "", "operator", std::nullopt);
  if (!key) return fail("{}: creating the operator key: {}", data_dir, key.error().message);
  result.operator_key = key->second;
  OFFICINA_CHECK(platform->audit(cli_operator(), "cli", "", "instance.init", result.instance_id, "{}"));
  return result;
}

Result<std::unique_ptr<Platform>> Platform::open(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const std::string db_path = (fs::path(data_dir) / kStoreFile).string();
  if (!fs::exists(db_path)) {
    return fail("{}: no officina instance here; create one with `officina admin init --data-dir {}`", data_dir,
                data_dir);
  }
  OFFICINA_TRY(auto store, SqliteStore::open(db_path));
  OFFICINA_TRY(auto instance, store->get_meta("instance_id"));
  if (!instance) return fail("{}: the store was never initialised; run `officina admin init` again", db_path);
  const std::string key_path = (fs::path(data_dir) / kMasterKeyFile).string();
  if (!fs::exists(key_path)) {
    return fail("{}: the master key is missing: without it no file or adapter of the instance can be read", key_path);
  }
  OFFICINA_TRY(SecretKey master, load_or_create_master_key(key_path));
  return std::unique_ptr<Platform>(new Platform(data_dir, std::move(store), std::move(master)));
}

ApiResult<Principal> Platform::authenticate(std::string_view key) {
  if (key.empty()) {
    return std::unexpected(unauthorised("You didn't provide an API key: send \"Authorization: Bearer YOUR_KEY\"",
                                        "missing_api_key"));
  }
  const auto id = api_key_id(key);
  if (!id) return std::unexpected(unauthorised("Incorrect API key provided"));
  auto record = store_->get_api_key(*id);
  if (!record) return std::unexpected(server_error(record.error()));
  if (!*record) return std::unexpected(unauthorised("Incorrect API key provided"));
  const ApiKeyRecord& k = **record;
  const std::string digest = sha256_hex(key);
  bool known = false;
  {
    std::lock_guard lock(cache_mutex_);
    auto it = verified_.find(digest);
    known = it != verified_.end() && it->second == k.id;
  }
  if (!known) {
    // Each check costs ~20 ms and 19 MiB: a flood of wrong keys may queue
    // here, but never holds more than a few checks' memory at once.
    verify_slots_.acquire();
    const bool right = verify_api_key(key, k.hash);
    verify_slots_.release();
    if (!right) return std::unexpected(unauthorised("Incorrect API key provided"));
    std::lock_guard lock(cache_mutex_);
    verified_[digest] = k.id;
  }
  if (k.revoked_at) return std::unexpected(unauthorised("This API key has been revoked", "revoked_api_key"));
  if (k.expires_at && *k.expires_at <= now()) {
    return std::unexpected(unauthorised("This API key has expired", "expired_api_key"));
  }
  if (!k.project_id.empty()) {
    auto project = store_->get_project(k.project_id);
    if (!project) return std::unexpected(server_error(project.error()));
    if (!*project || (*project)->deleted_at) {
      return std::unexpected(unauthorised("This API key's project has been deleted", "revoked_api_key"));
    }
  }
  return Principal{k.id, k.role, k.project_id};
}

Result<AuditEntry> Platform::audit(const Principal& who, const std::string& origin, const std::string& project_id,
                                   const std::string& action, const std::string& resource,
                                   const std::string& detail_json) {
  AuditEntry e;
  e.at = now();
  e.actor = who.key_id;
  e.project_id = project_id;
  e.action = action;
  e.resource = resource;
  e.origin = origin;
  e.detail = detail_json;
  return store_->append_audit(std::move(e));
}

ApiResult<std::vector<AuditEntry>> Platform::audit_entries(const Principal& who, int64_t after_seq, int64_t limit) {
  if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may read the audit log"));
  if (limit < 1 || limit > 10000) return std::unexpected(bad_request("limit must be between 1 and 10000", "limit"));
  auto entries = store_->list_audit(after_seq, limit);
  if (!entries) return std::unexpected(server_error(entries.error()));
  return std::move(*entries);
}

Result<AuditVerdict> Platform::verify_audit() {
  AuditVerdict verdict;
  verdict.head = kAuditGenesis;
  std::string prev = kAuditGenesis;
  int64_t prev_seq = 0;
  while (verdict.ok) {
    OFFICINA_TRY(auto batch, store_->list_audit(prev_seq, 1000));
    if (batch.empty()) break;
    for (const AuditEntry& e : batch) audit_verify_step(e, verdict, prev, prev_seq);
  }
  if (verdict.ok) {
    // The head recorded beside the log: a log cut short no longer reaches it.
    OFFICINA_TRY(auto head, store_->get_meta("audit_head"));
    if (head && *head != std::to_string(prev_seq) + ":" + verdict.head) {
      verdict.ok = false;
      verdict.first_bad_seq = prev_seq + 1;
      verdict.reason = fmt::format("the log ends at entry {} but the recorded head is {}: entries were removed",
                                   prev_seq, *head);
    }
  }
  return verdict;
}

Result<SecretKey> Platform::project_key(const std::string& project_id) {
  const std::string context = "officina project " + project_id;
  std::lock_guard lock(key_mutex_);
  OFFICINA_TRY(auto project, store_->get_project(project_id));
  if (!project || project->deleted_at) return fail("project {} is deleted: its data key was destroyed", project_id);
  OFFICINA_TRY(auto wrapped, store_->get_data_key(project_id));
  if (wrapped) return unwrap_key(master_, *wrapped, context);
  SecretKey key = SecretKey::random();
  OFFICINA_CHECK(store_->put_data_key(project_id, wrap_key(master_, key, context)));
  return key;
}

Result<std::pair<SecretKey, std::vector<uint8_t>>> Platform::new_object_key(const std::string& project_id,
                                                                           const std::string& context) {
  OFFICINA_TRY(SecretKey project, project_key(project_id));
  SecretKey key = SecretKey::random();
  std::vector<uint8_t> wrapped = wrap_key(project, key, context);
  return std::pair{std::move(key), std::move(wrapped)};
}

Result<SecretKey> Platform::open_object_key(const std::string& project_id, std::span<const uint8_t> wrapped,
                                            const std::string& context) {
  OFFICINA_TRY(SecretKey project, project_key(project_id));
  return unwrap_key(project, wrapped, context);
}

ApiResult<Project> Platform::visible_project(const Principal& who, const std::string& id) {
  auto project = store_->get_project(id);
  if (!project) return std::unexpected(server_error(project.error()));
  if (!*project || (*project)->deleted_at || (!who.is_operator() && who.project_id != id)) {
    return std::unexpected(not_found(fmt::format("No project '{}'", id)));
  }
  return **project;
}

}  // namespace officina
