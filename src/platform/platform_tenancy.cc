// Platform: organisations, projects, API keys and project deletion.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "platform/api_key.h"
#include "platform/platform.h"
#include "platform/platform_errors.h"

namespace officina {
namespace {


// Names shown in listings: 1-128 printable characters.
std::optional<ApiError> check_name(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 128) {
    return bad_request(fmt::format("{} name must have 1 to 128 characters", what), "name");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return bad_request(fmt::format("{} name holds a control character", what), "name");
  }
  return std::nullopt;
}

std::string detail(const nlohmann::json& j) { return j.dump(); }

}  // namespace

ApiResult<Organization> Platform::create_organization(const Principal& who, const std::string& origin,
                                                      const std::string& name, const std::string& kind) {
  if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may create organizations"));
  if (auto bad = check_name(name, "organization")) return std::unexpected(*bad);
  const auto k = parse_org_kind(kind);
  if (!k) {
    return std::unexpected(bad_request(
        fmt::format("kind '{}' is not one of sme, startup, research, public", kind), "kind"));
  }
  Organization org{"org_" + random_hex(12), name, *k, now()};
  if (auto r = store_->insert_organization(org); !r) return std::unexpected(server_error(r.error()));
  if (auto r = audit(who, origin, "", "organization.create", org.id, detail({{"name", name}, {"kind", kind}})); !r) {
    return std::unexpected(server_error(r.error()));
  }
  return org;
}

ApiResult<std::vector<Organization>> Platform::list_organizations(const Principal& who) {
  if (who.is_operator()) {
    auto all = store_->list_organizations();
    if (!all) return std::unexpected(server_error(all.error()));
    return std::move(*all);
  }
  // A project key sees the organisation its project belongs to.
  auto project = visible_project(who, who.project_id);
  if (!project) return std::unexpected(project.error());
  auto org = store_->get_organization(project->organization_id);
  if (!org) return std::unexpected(server_error(org.error()));
  std::vector<Organization> out;
  if (*org) out.push_back(**org);
  return out;
}

ApiResult<Organization> Platform::get_organization(const Principal& who, const std::string& id) {
  auto visible = list_organizations(who);
  if (!visible) return std::unexpected(visible.error());
  for (const Organization& o : *visible) {
    if (o.id == id) return o;
  }
  return std::unexpected(not_found(fmt::format("No organization '{}'", id)));
}

ApiResult<Project> Platform::create_project(const Principal& who, const std::string& origin,
                                            const std::string& organization_id, const std::string& name) {
  if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may create projects"));
  if (auto bad = check_name(name, "project")) return std::unexpected(*bad);
  auto org = store_->get_organization(organization_id);
  if (!org) return std::unexpected(server_error(org.error()));
  if (!*org) return std::unexpected(not_found(fmt::format("No organization '{}'", organization_id)));
  Project p{"proj_" + random_hex(12), organization_id, name, now(), std::nullopt};
  if (auto r = store_->insert_project(p); !r) return std::unexpected(server_error(r.error()));
  if (auto r = audit(who, origin, p.id, "project.create", p.id,
                     detail({{"name", name}, {"organization_id", organization_id}}));
      !r) {
    return std::unexpected(server_error(r.error()));
  }
  return p;
}

ApiResult<std::vector<Project>> Platform::list_projects(const Principal& who, const std::string& organization_id) {
  std::vector<Project> out;
  if (!who.is_operator()) {
    auto own = visible_project(who, who.project_id);
    if (!own) return std::unexpected(own.error());
    if (organization_id.empty() || own->organization_id == organization_id) out.push_back(*own);
    return out;
  }
  if (!organization_id.empty()) {
    auto org = store_->get_organization(organization_id);
    if (!org) return std::unexpected(server_error(org.error()));
    if (!*org) return std::unexpected(not_found(fmt::format("No organization '{}'", organization_id)));
  }
  auto all = store_->list_projects(organization_id);
  if (!all) return std::unexpected(server_error(all.error()));
  for (Project& p : *all) {
    if (!p.deleted_at) out.push_back(std::move(p));
  }
  return out;
}

ApiResult<Project> Platform::get_project(const Principal& who, const std::string& id) { return visible_project(who, id); }

ApiResult<DeletionReceipt> Platform::delete_project(const Principal& who, const std::string& origin,
                                                    const std::string& id) {
  auto project = visible_project(who, id);
  if (!project) return std::unexpected(project.error());
  if (!who.is_operator() && who.role != Role::owner) {
    return std::unexpected(forbidden("Only the project's owner or the operator may delete a project"));
  }
  DeletionReceipt receipt;
  receipt.project_id = id;
  receipt.deleted_at = now();
  if (on_project_deleted_) on_project_deleted_(id);  // its jobs stop before their data goes
  // Keys first: from here on nobody of the project can act.
  auto keys = store_->list_api_keys(id);
  if (!keys) return std::unexpected(server_error(keys.error()));
  for (const ApiKeyRecord& k : *keys) {
    if (k.revoked_at) continue;
    if (auto r = store_->revoke_api_key(k.id, receipt.deleted_at); !r) return std::unexpected(server_error(r.error()));
    receipt.destroyed.push_back("api_key " + k.id);
  }
  // Files and adapters: their keys wiped, their bytes removed.
  while (true) {
    auto files = store_->list_files(id, "", 1000);
    if (!files) return std::unexpected(server_error(files.error()));
    if (files->empty()) break;
    for (const FileRecord& f : *files) {
      if (auto r = store_->delete_file(f.id, receipt.deleted_at); !r) return std::unexpected(server_error(r.error()));
      receipt.destroyed.push_back("file " + f.id);
    }
  }
  auto adapters = store_->list_adapters(id);
  if (!adapters) return std::unexpected(server_error(adapters.error()));
  for (const AdapterRecord& a : *adapters) {
    if (auto r = store_->delete_adapter(a.name); !r) return std::unexpected(server_error(r.error()));
    if (on_adapter_removed_) on_adapter_removed_(a.name);
    receipt.destroyed.push_back("adapter " + a.name);
  }
  for (const char* kind : {"files", "adapters", "jobs"}) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(data_dir_) / kind / id, ec);
  }
  auto shredded = store_->destroy_data_key(id);
  if (!shredded) return std::unexpected(server_error(shredded.error()));
  if (*shredded) receipt.destroyed.push_back("data_key " + id);
  if (auto r = store_->mark_project_deleted(id, receipt.deleted_at); !r) {
    return std::unexpected(server_error(r.error()));
  }
  receipt.destroyed.push_back("project " + id);
  auto entry = audit(who, origin, id, "project.delete", id, detail({{"destroyed", receipt.destroyed}}));
  if (!entry) return std::unexpected(server_error(entry.error()));
  receipt.audit_hash = entry->hash;
  return receipt;
}

ApiResult<std::pair<ApiKeyRecord, std::string>> Platform::create_api_key(const Principal& who,
                                                                         const std::string& origin,
                                                                         const std::string& project_id,
                                                                         const std::string& role_text,
                                                                         std::optional<int64_t> expires_at) {
  const auto role = parse_role(role_text);
  if (!role) {
    return std::unexpected(bad_request(
        fmt::format("role '{}' is not one of owner, member, viewer (or operator)", role_text), "role"));
  }
  if (project_id.empty() != (*role == Role::operator_role)) {
    return std::unexpected(bad_request("operator keys belong to no project, and every other key to one", "role"));
  }
  if (*role == Role::operator_role) {
    if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may create operator keys"));
  } else {
    auto project = visible_project(who, project_id);
    if (!project) return std::unexpected(project.error());
    if (!who.is_operator() && who.role != Role::owner) {
      return std::unexpected(forbidden("Only the project's owner or the operator may create keys"));
    }
  }
  if (expires_at && *expires_at <= now()) {
    return std::unexpected(bad_request("expires_at is in the past", "expires_at"));
  }
  auto made = make_api_key();
  if (!made) return std::unexpected(server_error(made.error()));
  ApiKeyRecord record;
  record.id = made->id;
  record.project_id = project_id;
  record.role = *role;
  record.hash = made->hash;
  record.hint = made->key.substr(made->key.size() - 4);
  record.created_at = now();
  record.expires_at = expires_at;
  if (auto r = store_->insert_api_key(record); !r) return std::unexpected(server_error(r.error()));
  nlohmann::json d{{"role", role_text}};
  if (expires_at) d["expires_at"] = *expires_at;
  if (auto r = audit(who, origin, project_id, "api_key.create", record.id, detail(d)); !r) {
    return std::unexpected(server_error(r.error()));
  }
  return std::pair{record, made->key};
}

ApiResult<std::vector<ApiKeyRecord>> Platform::list_api_keys(const Principal& who, const std::string& project_id) {
  if (project_id.empty()) {
    if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may list operator keys"));
  } else if (auto project = visible_project(who, project_id); !project) {
    return std::unexpected(project.error());
  }
  auto keys = store_->list_api_keys(project_id);
  if (!keys) return std::unexpected(server_error(keys.error()));
  return std::move(*keys);
}

ApiResult<ApiKeyRecord> Platform::get_api_key(const Principal& who, const std::string& key_id) {
  auto record = store_->get_api_key(key_id);
  if (!record) return std::unexpected(server_error(record.error()));
  const bool visible = *record && (who.is_operator() || (!(*record)->project_id.empty() &&
                                                          (*record)->project_id == who.project_id));
  if (!visible) return std::unexpected(not_found(fmt::format("No API key '{}'", key_id)));
  return **record;
}

ApiResult<ApiKeyRecord> Platform::revoke_api_key(const Principal& who, const std::string& origin,
                                                 const std::string& key_id) {
  auto record = get_api_key(who, key_id);
  if (!record) return std::unexpected(record.error());
  if (!who.is_operator() && who.role != Role::owner) {
    return std::unexpected(forbidden("Only the project's owner or the operator may revoke keys"));
  }
  if (record->revoked_at) return *record;  // revoking twice changes nothing
  const int64_t at = now();
  if (auto r = store_->revoke_api_key(key_id, at); !r) return std::unexpected(server_error(r.error()));
  if (auto r = audit(who, origin, record->project_id, "api_key.revoke", key_id, "{}"); !r) {
    return std::unexpected(server_error(r.error()));
  }
  record->revoked_at = at;
  return *record;
}

}  // namespace officina
