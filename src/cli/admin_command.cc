// `officina admin ...`: the operator's commands on the instance's store,
// run on the machine that holds --data-dir (default ./officina-data):
//   admin init                                     -> the operator key, last line
//   admin org create NAME --kind sme|startup|research|public ; admin org list
//   admin project create ORG_ID NAME ; admin project list [--org ID] ; admin project delete ID
//   admin project export ID --out FILE.tar
//   admin allocation create PROJECT_ID --tier T --core-hours H [--gpu-hours H]
//                           [--starts-at UNIX] (--ends-at UNIX | --days N)
//   admin allocation list PROJECT_ID ; admin usage PROJECT_ID
//   admin key create (PROJECT_ID --role owner|member|viewer | --operator) [--expires-at UNIX]
//   admin key list [PROJECT_ID] ; admin key revoke KEY_ID
//   admin audit list [--after SEQ] [--limit N] ; admin audit verify (exit 1 when broken)
// Records print as JSON, in the API's shapes. Thin: parsing and printing.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "platform/platform.h"
#include "base/atomic_file.h"
#include "platform/file_service.h"
#include "platform/platform_json.h"
#include "platform/project_export.h"

namespace officina::cli {
namespace {

struct AdminArgs {
  std::string data_dir = "officina-data";
  std::string name, kind = "sme", id, org, role, tier, out;
  double core_hours = 0, gpu_hours = 0;
  int64_t starts_at = 0, ends_at = 0, days = 0, expires_at = 0, after = 0, limit = 100;
  bool operator_key = false;
};

void print(const nlohmann::ordered_json& j) { std::printf("%s\n", j.dump(2).c_str()); }

template <class T>
Result<T> api(ApiResult<T> r) {
  if (!r) return fail("{}", r.error().message);
  return std::move(*r);
}

Result<void> with_platform(const AdminArgs& a, const std::function<Result<void>(Platform&)>& body) {
  OFFICINA_TRY(auto platform, Platform::open(a.data_dir));
  return body(*platform);
}

void run(Result<void> r) {
  if (!r) report(r.error());
}

CLI::App* sub(CLI::App* parent, const char* name, const char* help, AdminArgs* a) {
  CLI::App* s = parent->add_subcommand(name, help);
  s->add_option("--data-dir", a->data_dir, "the instance's data directory")->capture_default_str();
  return s;
}

void add_org(CLI::App* admin, std::shared_ptr<AdminArgs> a) {
  CLI::App* org = admin->add_subcommand("org", "Organisations");
  org->require_subcommand(1);
  CLI::App* create = sub(org, "create", "Create an organisation", a.get());
  create->add_option("NAME", a->name)->required();
  create->add_option("--kind", a->kind, "sme, startup, research or public")->capture_default_str();
  create->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto org, api(p.create_organization(cli_operator(), "cli", a->name, a->kind)));
      print(to_json(org));
      return {};
    }));
  });
  CLI::App* list = sub(org, "list", "List organisations", a.get());
  list->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto orgs, api(p.list_organizations(cli_operator())));
      print(list_json(orgs));
      return {};
    }));
  });
}

void add_project(CLI::App* admin, std::shared_ptr<AdminArgs> a) {
  CLI::App* project = admin->add_subcommand("project", "Projects");
  project->require_subcommand(1);
  CLI::App* create = sub(project, "create", "Create a project in an organisation", a.get());
  create->add_option("ORG_ID", a->org)->required();
  create->add_option("NAME", a->name)->required();
  create->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto project, api(p.create_project(cli_operator(), "cli", a->org, a->name)));
      print(to_json(project));
      return {};
    }));
  });
  CLI::App* list = sub(project, "list", "List projects", a.get());
  list->add_option("--org", a->org, "only this organisation's");
  list->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto projects, api(p.list_projects(cli_operator(), a->org)));
      print(list_json(projects));
      return {};
    }));
  });
  CLI::App* exp = sub(project, "export", "Write everything a project holds (records, files, models, audit) as a tar",
                      a.get());
  exp->add_option("PROJECT_ID", a->id)->required();
  exp->add_option("--out", a->out, "the archive to write")->required();
  exp->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      FileService files(p, FileCheckOptions{}, 0);
      OFFICINA_TRY(AtomicFile out, AtomicFile::create(a->out, 0600));  // plaintext of the tenant's data
      TarWriter tar([&out](std::string_view bytes) { return out.write(bytes.data(), bytes.size()).has_value(); });
      OFFICINA_CHECK(export_project(p, files, cli_operator(), "cli", a->id, tar));
      OFFICINA_CHECK(out.commit());
      std::printf("%s\n", a->out.c_str());
      return {};
    }));
  });
  CLI::App* del = sub(project, "delete", "Delete a project: revoke its keys, destroy its data key; prints the receipt",
                      a.get());
  del->add_option("PROJECT_ID", a->id)->required();
  del->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto receipt, api(p.delete_project(cli_operator(), "cli", a->id)));
      print(to_json(receipt));
      return {};
    }));
  });
}

void add_allocation(CLI::App* admin, std::shared_ptr<AdminArgs> a) {
  CLI::App* allocation = admin->add_subcommand("allocation", "Compute allocations");
  allocation->require_subcommand(1);
  CLI::App* create = sub(allocation, "create", "Grant a project core-hours (and GPU-hours) under an access tier", a.get());
  create->add_option("PROJECT_ID", a->id)->required();
  create->add_option("--tier", a->tier, "playground, fast_lane or large_scale")->required();
  create->add_option("--core-hours", a->core_hours, "core-hours granted")->required();
  create->add_option("--gpu-hours", a->gpu_hours, "GPU-hours granted")->capture_default_str();
  create->add_option("--starts-at", a->starts_at, "unix seconds (default: now)");
  auto* ends = create->add_option("--ends-at", a->ends_at, "unix seconds");
  create->add_option("--days", a->days, "instead of --ends-at: this many days after the start")->excludes(ends);
  create->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      AllocationRequest r{a->tier, a->core_hours, a->gpu_hours, a->starts_at ? a->starts_at : p.now(), a->ends_at};
      if (a->days > 0) r.ends_at = r.starts_at + a->days * 86400;
      if (r.ends_at == 0) return fail("give --ends-at or --days");
      OFFICINA_TRY(auto allocation, api(p.create_allocation(cli_operator(), "cli", a->id, r)));
      print(to_json(allocation));
      return {};
    }));
  });
  CLI::App* list = sub(allocation, "list", "A project's allocations", a.get());
  list->add_option("PROJECT_ID", a->id)->required();
  list->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto allocations, api(p.list_allocations(cli_operator(), a->id)));
      print(list_json(allocations));
      return {};
    }));
  });
  CLI::App* usage = sub(admin, "usage", "A project's usage per allocation and per month", a.get());
  usage->add_option("PROJECT_ID", a->id)->required();
  usage->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto report, api(p.usage(cli_operator(), a->id)));
      print(to_json(report));
      return {};
    }));
  });
}

void add_key(CLI::App* admin, std::shared_ptr<AdminArgs> a) {
  CLI::App* key = admin->add_subcommand("key", "API keys");
  key->require_subcommand(1);
  CLI::App* create = sub(key, "create", "Create a key; the key itself is printed once, as the last line", a.get());
  create->add_option("PROJECT_ID", a->id);
  create->add_option("--role", a->role, "owner, member or viewer");
  create->add_flag("--operator", a->operator_key, "an operator key (no project)");
  create->add_option("--expires-at", a->expires_at, "unix seconds");
  create->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      if (a->operator_key == !a->id.empty()) return fail("give either PROJECT_ID --role ROLE or --operator");
      const std::string role = a->operator_key ? "operator" : a->role;
      if (role.empty()) return fail("give --role owner|member|viewer");
      std::optional<int64_t> expires;
      if (a->expires_at) expires = a->expires_at;
      OFFICINA_TRY(auto made, api(p.create_api_key(cli_operator(), "cli", a->id, role, expires)));
      print(to_json(made.first));
      std::printf("%s\n", made.second.c_str());
      return {};
    }));
  });
  CLI::App* list = sub(key, "list", "List a project's keys (or the operator keys)", a.get());
  list->add_option("PROJECT_ID", a->id);
  list->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto keys, api(p.list_api_keys(cli_operator(), a->id)));
      print(list_json(keys));
      return {};
    }));
  });
  CLI::App* revoke = sub(key, "revoke", "Revoke a key", a.get());
  revoke->add_option("KEY_ID", a->id)->required();
  revoke->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto k, api(p.revoke_api_key(cli_operator(), "cli", a->id)));
      print(to_json(k));
      return {};
    }));
  });
}

void add_audit(CLI::App* admin, std::shared_ptr<AdminArgs> a) {
  CLI::App* audit = admin->add_subcommand("audit", "The append-only, hash-chained audit log");
  audit->require_subcommand(1);
  CLI::App* list = sub(audit, "list", "Audit entries, oldest first", a.get());
  list->add_option("--after", a->after, "entries after this sequence number")->capture_default_str();
  list->add_option("--limit", a->limit, "at most this many")->capture_default_str();
  list->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto entries, api(p.audit_entries(cli_operator(), a->after, a->limit)));
      print(list_json(entries));
      return {};
    }));
  });
  CLI::App* verify = sub(audit, "verify", "Check the whole hash chain; exit 1 when an entry was changed or removed",
                         a.get());
  verify->callback([a] {
    run(with_platform(*a, [&](Platform& p) -> Result<void> {
      OFFICINA_TRY(auto verdict, p.verify_audit());
      print(to_json(verdict));
      if (!verdict.ok) return fail("the audit log is broken at entry {}: {}", verdict.first_bad_seq, verdict.reason);
      return {};
    }));
  });
}

}  // namespace

void add_admin_command(CLI::App& app) {
  auto a = std::make_shared<AdminArgs>();
  CLI::App* admin = app.add_subcommand("admin", "Operate the platform: organisations, projects, keys, allocations, audit");
  admin->require_subcommand(1);
  CLI::App* init = sub(admin, "init", "Create the instance in --data-dir; prints the operator key as the last line",
                       a.get());
  init->callback([a] {
    auto made = Platform::init(a->data_dir);
    if (!made) return report(made.error());
    std::printf("officina instance %s created in %s\n", made->instance_id.c_str(), a->data_dir.c_str());
    std::printf("operator key (shown once, keep it safe):\n%s\n", made->operator_key.c_str());
  });
  add_org(admin, a);
  add_project(admin, a);
  add_allocation(admin, a);
  add_key(admin, a);
  add_audit(admin, a);
}

}  // namespace officina::cli
