// Platform: compute allocations under access tiers, usage and budget checks.
#include <cmath>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "platform/api_key.h"
#include "platform/platform.h"
#include "platform/platform_errors.h"

namespace officina {
namespace {

constexpr int64_t kDay = 86400;


std::string month_of(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
}

}  // namespace

TierLimits tier_limits(AccessTier tier) {
  switch (tier) {
    case AccessTier::playground: return {1000, 100, 28, 92};  // small and immediate, one to three months
    case AccessTier::fast_lane: return {50000, 5000, 1, 366};
    case AccessTier::large_scale: return {1e9, 1e8, 1, 366};
  }
  return {0, 0, 0, 0};
}

ApiResult<Allocation> Platform::create_allocation(const Principal& who, const std::string& origin,
                                                  const std::string& project_id, const AllocationRequest& r) {
  if (!who.is_operator()) return std::unexpected(forbidden("Only the operator may grant allocations"));
  auto project = visible_project(who, project_id);
  if (!project) return std::unexpected(project.error());
  const auto tier = parse_tier(r.tier);
  if (!tier) {
    return std::unexpected(
        bad_request(fmt::format("tier '{}' is not one of playground, fast_lane, large_scale", r.tier), "tier"));
  }
  const TierLimits limits = tier_limits(*tier);
  if (!std::isfinite(r.core_hours) || r.core_hours <= 0 || r.core_hours > limits.max_core_hours) {
    return std::unexpected(bad_request(
        fmt::format("core_hours must be above 0 and at most {} for the {} tier", limits.max_core_hours, r.tier),
        "core_hours"));
  }
  if (!std::isfinite(r.gpu_hours) || r.gpu_hours < 0 || r.gpu_hours > limits.max_gpu_hours) {
    return std::unexpected(bad_request(
        fmt::format("gpu_hours must be between 0 and {} for the {} tier", limits.max_gpu_hours, r.tier), "gpu_hours"));
  }
  if (r.ends_at <= r.starts_at) return std::unexpected(bad_request("ends_at must be after starts_at", "ends_at"));
  const int64_t days = (r.ends_at - r.starts_at + kDay - 1) / kDay;
  if (days < limits.min_days || days > limits.max_days) {
    return std::unexpected(bad_request(fmt::format("a {} allocation lasts {} to {} days, not {}", r.tier,
                                                   limits.min_days, limits.max_days, days),
                                       "ends_at"));
  }
  if (r.ends_at <= now()) return std::unexpected(bad_request("ends_at is in the past", "ends_at"));
  Allocation a{"alloc_" + random_hex(12), project_id, *tier, r.core_hours, r.gpu_hours, r.starts_at, r.ends_at, now()};
  if (auto s = store_->insert_allocation(a); !s) return std::unexpected(server_error(s.error()));
  nlohmann::json d{{"tier", r.tier}, {"core_hours", r.core_hours}, {"gpu_hours", r.gpu_hours},
                   {"starts_at", r.starts_at}, {"ends_at", r.ends_at}};
  if (auto s = audit(who, origin, project_id, "allocation.create", a.id, d.dump()); !s) {
    return std::unexpected(server_error(s.error()));
  }
  return a;
}

ApiResult<std::vector<Allocation>> Platform::list_allocations(const Principal& who, const std::string& project_id) {
  auto project = visible_project(who, project_id);
  if (!project) return std::unexpected(project.error());
  auto all = store_->list_allocations(project_id);
  if (!all) return std::unexpected(server_error(all.error()));
  return std::move(*all);
}

ApiResult<UsageReport> Platform::usage(const Principal& who, const std::string& project_id) {
  auto allocations = list_allocations(who, project_id);
  if (!allocations) return std::unexpected(allocations.error());
  auto records = store_->list_usage(project_id);
  if (!records) return std::unexpected(server_error(records.error()));
  UsageReport report;
  report.project_id = project_id;
  const int64_t t = now();
  for (const Allocation& a : *allocations) {
    AllocationBalance b{a, 0, 0, a.starts_at <= t && t < a.ends_at};
    for (const UsageRecord& u : *records) {
      if (u.allocation_id != a.id) continue;
      b.used_core_hours += u.core_hours;
      b.used_gpu_hours += u.gpu_hours;
    }
    report.allocations.push_back(b);
  }
  std::map<std::string, UsageMonth> months;
  for (const UsageRecord& u : *records) {
    UsageMonth& m = months[month_of(u.ended_at)];
    m.core_hours += u.core_hours;
    m.gpu_hours += u.gpu_hours;
    ++m.records;
  }
  for (auto& [month, m] : months) {
    m.month = month;
    report.months.push_back(m);
  }
  return report;
}

ApiResult<Allocation> Platform::check_budget(const std::string& project_id, double core_hours, double gpu_hours) {
  auto report = usage(cli_operator(), project_id);
  if (!report) return std::unexpected(report.error());
  if (report->allocations.empty()) {
    return std::unexpected(no_quota(fmt::format("Project '{}' has no compute allocation: ask the operator for one",
                                                project_id)));
  }
  const int64_t t = now();
  std::string why;
  for (const AllocationBalance& b : report->allocations) {
    const Allocation& a = b.allocation;
    if (t < a.starts_at) {
      why = fmt::format("allocation {} starts at {}", a.id, a.starts_at);
      continue;
    }
    if (t >= a.ends_at) {
      if (why.empty()) why = fmt::format("allocation {} ended at {}", a.id, a.ends_at);
      continue;
    }
    const double core_left = a.core_hours - b.used_core_hours, gpu_left = a.gpu_hours - b.used_gpu_hours;
    if (core_hours <= core_left + 1e-9 && gpu_hours <= gpu_left + 1e-9) return a;
    why = fmt::format("allocation {} has {:.2f} core-hours and {:.2f} GPU-hours left; this needs {:.2f} and {:.2f}",
                      a.id, std::max(0.0, core_left), std::max(0.0, gpu_left), core_hours, gpu_hours);
  }
  return std::unexpected(no_quota(fmt::format("Project '{}' has no budget for this: {}", project_id, why)));
}

Result<void> Platform::record_usage(const UsageRecord& usage) { return store_->insert_usage(usage); }

}  // namespace officina
