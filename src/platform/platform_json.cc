#include "platform/platform_json.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

OJson optional_time(const std::optional<int64_t>& t) { return t ? OJson(*t) : OJson(nullptr); }

}  // namespace

OJson to_json(const Organization& o) {
  return {{"object", "organization"}, {"id", o.id}, {"name", o.name}, {"kind", org_kind_name(o.kind)},
          {"created_at", o.created_at}};
}

OJson to_json(const Project& p) {
  return {{"object", "project"}, {"id", p.id}, {"organization_id", p.organization_id}, {"name", p.name},
          {"created_at", p.created_at}, {"status", p.deleted_at ? "deleted" : "active"}};
}

OJson to_json(const ApiKeyRecord& k) {
  return {{"object", "api_key"},
          {"id", k.id},
          {"project_id", k.project_id.empty() ? OJson(nullptr) : OJson(k.project_id)},
          {"role", role_name(k.role)},
          {"redacted_value", "sk-ofc-..." + k.hint},
          {"created_at", k.created_at},
          {"expires_at", optional_time(k.expires_at)},
          {"revoked_at", optional_time(k.revoked_at)}};
}

OJson to_json(const Allocation& a) {
  return {{"object", "allocation"}, {"id", a.id},           {"project_id", a.project_id},
          {"tier", tier_name(a.tier)}, {"core_hours", a.core_hours}, {"gpu_hours", a.gpu_hours},
          {"starts_at", a.starts_at}, {"ends_at", a.ends_at},   {"created_at", a.created_at}};
}

OJson to_json(const UsageReport& u) {
  OJson allocations = OJson::array(), months = OJson::array();
  for (const AllocationBalance& b : u.allocations) {
    OJson a = to_json(b.allocation);
    a["used_core_hours"] = b.used_core_hours;
    a["used_gpu_hours"] = b.used_gpu_hours;
    a["remaining_core_hours"] = std::max(0.0, b.allocation.core_hours - b.used_core_hours);
    a["remaining_gpu_hours"] = std::max(0.0, b.allocation.gpu_hours - b.used_gpu_hours);
    a["active"] = b.active;
    allocations.push_back(std::move(a));
  }
  for (const UsageMonth& m : u.months) {
    months.push_back({{"month", m.month}, {"core_hours", m.core_hours}, {"gpu_hours", m.gpu_hours},
                      {"records", m.records}});
  }
  return {{"object", "project.usage"}, {"project_id", u.project_id}, {"allocations", allocations}, {"months", months}};
}

OJson to_json(const DeletionReceipt& r) {
  return {{"object", "project.deleted"}, {"id", r.project_id}, {"deleted", true}, {"deleted_at", r.deleted_at},
          {"destroyed", r.destroyed}, {"audit_hash", r.audit_hash}};
}

OJson to_json(const AuditEntry& e) {
  OJson detail = OJson::parse(e.detail, nullptr, false);
  if (detail.is_discarded()) detail = e.detail;  // shown as written, never dropped
  return {{"object", "audit.entry"}, {"seq", e.seq}, {"at", e.at}, {"actor", e.actor},
          {"project_id", e.project_id}, {"action", e.action}, {"resource", e.resource}, {"origin", e.origin},
          {"detail", detail}, {"prev_hash", e.prev_hash}, {"hash", e.hash}};
}

OJson to_json(const AuditVerdict& v) {
  OJson j{{"object", "audit.verification"}, {"ok", v.ok}, {"entries", v.entries}, {"head", v.head}};
  if (!v.ok) {
    j["first_bad_seq"] = v.first_bad_seq;
    j["reason"] = v.reason;
  }
  return j;
}

OJson to_json(const JobRecord& j) {
  const OJson resources = OJson::parse(j.resources, nullptr, false);
  OJson hyper = OJson::parse(j.hyperparameters, nullptr, false);
  OJson method = OJson::parse(j.method, nullptr, false);
  OJson error = j.error.empty() ? OJson(nullptr) : OJson::parse(j.error, nullptr, false);
  return {{"object", "fine_tuning.job"},
          {"id", j.id},
          {"model", j.model},
          {"created_at", j.created_at},
          {"finished_at", job_finished(j.status) && j.finished_at ? OJson(*j.finished_at) : OJson(nullptr)},
          {"fine_tuned_model", j.fine_tuned_model.empty() ? OJson(nullptr) : OJson(j.fine_tuned_model)},
          {"organization_id", j.project_id},
          {"result_files", OJson::array()},
          {"status", job_status_name(j.status)},
          {"validation_file", j.validation_file.empty() ? OJson(nullptr) : OJson(j.validation_file)},
          {"training_file", j.training_file},
          {"hyperparameters", hyper.is_discarded() ? OJson::object() : hyper},
          {"trained_tokens", j.status == JobStatus::succeeded ? OJson(j.trained_tokens) : OJson(nullptr)},
          {"error", error.is_discarded() ? OJson(nullptr) : error},
          {"seed", j.seed},
          {"estimated_finish", nullptr},
          {"integrations", OJson::array()},
          {"method", method.is_discarded() ? OJson::object() : method},
          {"user_provided_suffix", j.suffix.empty() ? OJson(nullptr) : OJson(j.suffix)},
          {"project_id", j.project_id},
          {"attempts", j.attempts},
          {"started_at", j.started_at ? OJson(*j.started_at) : OJson(nullptr)},
          {"charged_core_hours", j.charged_core_hours},
          {"charged_gpu_hours", j.charged_gpu_hours},
          {"requeues", j.requeues},
          {"resources", resources.is_discarded() ? OJson::object() : resources},
          {"executor_job", j.executor_ref.empty() ? OJson(nullptr) : OJson(j.executor_ref)}};
}

OJson to_json(const JobEvent& e) {
  OJson data = e.data.empty() ? OJson(nullptr) : OJson::parse(e.data, nullptr, false);
  return {{"object", "fine_tuning.job.event"}, {"id", e.id}, {"created_at", e.created_at}, {"level", e.level},
          {"message", e.message}, {"type", e.type}, {"data", data.is_discarded() ? OJson(nullptr) : data}};
}

OJson to_json(const JobCheckpoint& c) {
  OJson metrics = OJson::parse(c.metrics, nullptr, false);
  return {{"object", "fine_tuning.job.checkpoint"}, {"id", c.id}, {"created_at", c.created_at},
          {"fine_tuned_model_checkpoint", c.fine_tuned_model_checkpoint}, {"step_number", c.step},
          {"metrics", metrics.is_discarded() ? OJson::object() : metrics}, {"fine_tuning_job_id", c.job_id}};
}

OJson to_json(const FileRecord& f) {
  OJson j{{"object", "file"},       {"id", f.id},           {"bytes", f.bytes},         {"created_at", f.created_at},
          {"filename", f.filename}, {"purpose", f.purpose}, {"status", f.status},
          {"status_details", f.status_details.empty() ? OJson(nullptr) : OJson(f.status_details)},
          {"expires_at", nullptr}};
  OJson stats = OJson::parse(f.report, nullptr, false);
  if (!stats.is_discarded()) j["statistics"] = stats;
  return j;
}

}  // namespace officina
