#include "platform/project_export.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "platform/platform_errors.h"
#include "platform/platform_json.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

// A file name safe inside the archive: no directories, no "..".
std::string plain_name(const std::string& name) {
  std::string out;
  for (char c : name) out += (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
  if (out.empty() || out == "." || out == "..") out = "file";
  return out.substr(0, 100);
}

Result<void> add_sealed(TarWriter& tar, const std::string& name, uint64_t size, int64_t mtime, const std::string& path,
                        const SecretKey& key, const std::string& context) {
  return tar.add(name, size, mtime, [&](const std::function<bool(std::string_view)>& out) -> Result<void> {
    return decrypt_file(path, key, context, [&](std::span<const uint8_t> chunk) -> Result<void> {
      if (!out(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()))) {
        return fail("{}: the archive stopped taking bytes", name);
      }
      return {};
    });
  });
}

// The plaintext size of a sealed file: decrypt once, count (adapters carry no size in their record).
Result<uint64_t> sealed_size(const std::string& path, const SecretKey& key, const std::string& context) {
  uint64_t size = 0;
  OFFICINA_CHECK(decrypt_file(path, key, context, [&](std::span<const uint8_t> chunk) -> Result<void> {
    size += chunk.size();
    return {};
  }));
  return size;
}

}  // namespace

ApiResult<Project> check_export(Platform& platform, const Principal& who, const std::string& project_id) {
  auto project = platform.visible_project(who, project_id);
  if (!project) return std::unexpected(project.error());
  if (!who.is_operator() && who.role != Role::owner) {
    return std::unexpected(forbidden("Only the project's owner or the operator may export its data"));
  }
  return project;
}

Result<void> export_project(Platform& platform, FileService& files, const Principal& who, const std::string& origin,
                            const std::string& project_id, TarWriter& tar) {
  auto allowed = check_export(platform, who, project_id);
  if (!allowed) return fail("{}", allowed.error().message);
  Store& store = platform.store();
  const int64_t now = platform.now();
  const Project& project = *allowed;

  OJson summary{{"exported_at", now}, {"project", to_json(project)}};
  OFFICINA_TRY(auto org, store.get_organization(project.organization_id));
  if (org) summary["organization"] = to_json(*org);
  OFFICINA_TRY(auto keys, store.list_api_keys(project_id));
  summary["api_keys"] = list_json(keys)["data"];
  OFFICINA_TRY(auto allocations, store.list_allocations(project_id));
  summary["allocations"] = list_json(allocations)["data"];
  auto usage = platform.usage(cli_operator(), project_id);
  if (usage) summary["usage"] = to_json(*usage);
  OFFICINA_CHECK(tar.add("project.json", summary.dump(2) + "\n", now));

  OJson file_list = OJson::array();
  std::string after;
  while (true) {
    OFFICINA_TRY(auto page, store.list_files(project_id, after, 500));
    if (page.empty()) break;
    for (const FileRecord& f : page) {
      OJson entry = to_json(f);
      entry["path"] = "files/" + f.id + "/" + plain_name(f.filename);
      file_list.push_back(entry);
      OFFICINA_TRY(SecretKey key, platform.open_object_key(project_id, f.wrapped_key, FileService::file_context(f.id)));
      OFFICINA_CHECK(add_sealed(tar, entry["path"], static_cast<uint64_t>(f.bytes), f.created_at,
                                files.file_path(project_id, f.id), key, FileService::file_context(f.id)));
    }
    after = page.back().id;
  }
  OFFICINA_CHECK(tar.add("files.json", file_list.dump(2) + "\n", now));

  OJson jobs = OJson::array();
  after.clear();
  while (true) {
    OFFICINA_TRY(auto page, store.list_jobs(project_id, after, 100));
    if (page.empty()) break;
    for (const JobRecord& j : page) {
      OJson entry = to_json(j);
      OFFICINA_TRY(auto events, store.list_job_events(j.id, "", 1000000));
      entry["events"] = list_json(events)["data"];
      OFFICINA_TRY(auto checkpoints, store.list_checkpoints(j.id));
      entry["checkpoints"] = list_json(checkpoints)["data"];
      jobs.push_back(std::move(entry));
    }
    after = page.back().id;
  }
  OFFICINA_CHECK(tar.add("fine_tuning.json", jobs.dump(2) + "\n", now));

  OJson models = OJson::array();
  OFFICINA_TRY(auto adapters, store.list_adapters(project_id));
  for (const AdapterRecord& a : adapters) {
    const std::string context = "officina adapter " + a.name;
    const std::string path = (std::filesystem::path(platform.data_dir()) / a.path).string();
    OFFICINA_TRY(SecretKey key, platform.open_object_key(project_id, a.wrapped_key, context));
    OFFICINA_TRY(uint64_t size, sealed_size(path, key, context));
    const std::string name = "models/" + plain_name(a.job_id) + ".gguf";
    models.push_back({{"id", a.name}, {"object", "model"}, {"fine_tuning_job_id", a.job_id},
                      {"created_at", a.created_at}, {"path", name}, {"format", "gguf-lora"}});
    OFFICINA_CHECK(add_sealed(tar, name, size, a.created_at, path, key, context));
  }
  OFFICINA_CHECK(tar.add("models.json", models.dump(2) + "\n", now));

  OJson audit = OJson::array();
  int64_t seq = 0;
  while (true) {
    OFFICINA_TRY(auto page, store.list_audit(seq, 1000));
    if (page.empty()) break;
    for (const AuditEntry& e : page) {
      if (e.project_id == project_id) audit.push_back(to_json(e));
    }
    seq = page.back().seq;
  }
  OFFICINA_CHECK(tar.add("audit.json", audit.dump(2) + "\n", now));
  OFFICINA_CHECK(tar.finish());
  OFFICINA_TRY(auto entry, platform.audit(who, origin, project_id, "project.export", project_id,
                                          OJson{{"files", file_list.size()}, {"models", models.size()}}.dump()));
  (void)entry;
  return {};
}

}  // namespace officina
