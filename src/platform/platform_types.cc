#include "platform/platform_types.h"

#include <array>
#include <utility>

namespace officina {
namespace {

template <class E, size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [value, text] : table) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "?";
}

constexpr std::array<std::pair<OrgKind, std::string_view>, 4> kKinds{{
    {OrgKind::sme, "sme"}, {OrgKind::startup, "startup"}, {OrgKind::research, "research"}, {OrgKind::public_body, "public"}}};
constexpr std::array<std::pair<Role, std::string_view>, 4> kRoles{{
    {Role::operator_role, "operator"}, {Role::owner, "owner"}, {Role::member, "member"}, {Role::viewer, "viewer"}}};
constexpr std::array<std::pair<AccessTier, std::string_view>, 3> kTiers{{
    {AccessTier::playground, "playground"}, {AccessTier::fast_lane, "fast_lane"}, {AccessTier::large_scale, "large_scale"}}};

constexpr std::array<std::pair<JobStatus, std::string_view>, 6> kJobStatuses{{
    {JobStatus::validating_files, "validating_files"}, {JobStatus::queued, "queued"}, {JobStatus::running, "running"},
    {JobStatus::succeeded, "succeeded"}, {JobStatus::failed, "failed"}, {JobStatus::cancelled, "cancelled"}}};

}  // namespace

std::string_view job_status_name(JobStatus status) { return name_of(kJobStatuses, status); }
std::optional<JobStatus> parse_job_status(std::string_view name) { return parse_name(kJobStatuses, name); }
std::string_view org_kind_name(OrgKind kind) { return name_of(kKinds, kind); }
std::optional<OrgKind> parse_org_kind(std::string_view name) { return parse_name(kKinds, name); }
std::string_view role_name(Role role) { return name_of(kRoles, role); }
std::optional<Role> parse_role(std::string_view name) { return parse_name(kRoles, name); }
std::string_view tier_name(AccessTier tier) { return name_of(kTiers, tier); }
std::optional<AccessTier> parse_tier(std::string_view name) { return parse_name(kTiers, name); }

}  // namespace officina
