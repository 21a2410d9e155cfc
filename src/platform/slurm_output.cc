#include "platform/slurm_output.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>
#include <vector>

namespace officina {
namespace {

constexpr int kMaxSlurmCount = 1 << 24;  // more CPUs or GPUs than any one job holds

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
         c == '_' || c == '-';
}

// "0:15" -> exit code 0, signal 15.
void read_exit_code(std::string_view text, SlurmJobInfo& info) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    info.exit_code = to_number<int>(text).value_or(0);
    return;
  }
  info.exit_code = to_number<int>(text.substr(0, colon)).value_or(0);
  info.signal = to_number<int>(text.substr(colon + 1)).value_or(0);
}

// A count Slurm printed (CPUs, GPUs); what is no count, or absurd, is 0.
int count_of(std::string_view text) {
  const int v = to_number<int>(text).value_or(0);
  return v < 0 || v > kMaxSlurmCount ? 0 : v;
}

// gres/gpu=2 (or gres/gpu:a100=2) in a TRES list.
int gpus_in_tres(std::string_view tres) {
  int total = 0;
  size_t pos = 0;
  while ((pos = tres.find("gres/gpu", pos)) != std::string_view::npos) {
    const size_t eq = tres.find('=', pos);
    const size_t comma = tres.find(',', pos);
    if (eq == std::string_view::npos || (comma != std::string_view::npos && comma < eq)) break;
    const size_t end = comma == std::string_view::npos ? tres.size() : comma;
    // Typed entries (gres/gpu:a100) repeat the untyped total: count the untyped one only.
    if (tres.substr(pos, eq - pos) == "gres/gpu") {
      total = std::min(kMaxSlurmCount, total + count_of(tres.substr(eq + 1, end - eq - 1)));
    }
    pos = end;
  }
  return total;
}

std::string base_state(std::string_view state) {
  state = trim(state);
  const size_t space = state.find(' ');  // "CANCELLED by 0"
  if (space != std::string_view::npos) state = state.substr(0, space);
  if (state.ends_with('+')) state.remove_suffix(1);  // sacct marks "CANCELLED+"
  return std::string(state);
}

bool valid_state_word(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<int64_t> parse_sbatch_output(std::string_view out) {
  std::string_view text = trim(out);
  // The last line holds the id (sbatch may warn before it).
  if (const size_t nl = text.rfind('\n'); nl != std::string_view::npos) text = trim(text.substr(nl + 1));
  if (const size_t semi = text.find(';'); semi != std::string_view::npos) text = text.substr(0, semi);
  auto id = to_number<int64_t>(text);
  if (!id || *id <= 0) return fail("sbatch printed no job id: '{}'", std::string(trim(out)).substr(0, 200));
  return *id;
}

Result<double> parse_slurm_duration(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 32) return fail("not a Slurm duration: '{}'", text);
  double days = 0;
  if (const size_t dash = text.find('-'); dash != std::string_view::npos) {
    auto d = to_number<int64_t>(text.substr(0, dash));
    if (!d || *d < 0) return fail("not a Slurm duration: '{}'", text);
    days = static_cast<double>(*d);
    text = text.substr(dash + 1);
  }
  std::array<double, 3> parts{};
  int n = 0;
  while (!text.empty()) {
    if (n == 3) return fail("not a Slurm duration: '{}'", text);
    const size_t colon = text.find(':');
    std::string_view part = text.substr(0, colon);
    if (const size_t dot = part.find('.'); dot != std::string_view::npos) part = part.substr(0, dot);  // MM:SS.mmm
    auto v = to_number<int64_t>(part);
    if (!v || *v < 0) return fail("not a Slurm duration: '{}'", text);
    parts[static_cast<size_t>(n++)] = static_cast<double>(*v);
    if (colon == std::string_view::npos) break;
    text = text.substr(colon + 1);
    if (text.empty()) return fail("not a Slurm duration");
  }
  double seconds = 0;
  if (n == 3) seconds = parts[0] * 3600 + parts[1] * 60 + parts[2];
  else if (n == 2) seconds = parts[0] * 60 + parts[1];
  else if (n == 1) seconds = parts[0] * 60;  // minutes alone
  else return fail("not a Slurm duration");
  return days * 86400 + seconds;
}

std::optional<std::string> scontrol_value(std::string_view line, std::string_view key) {
  size_t pos = 0;
  while (true) {
    pos = line.find(key, pos);
    if (pos == std::string_view::npos) return std::nullopt;
    const bool starts = pos == 0 || line[pos - 1] == ' ';
    const size_t eq = pos + key.size();
    if (starts && eq < line.size() && line[eq] == '=') break;
    pos = eq;
  }
  const size_t begin = pos + key.size() + 1;
  // The value ends where the next " Key=" starts.
  size_t end = begin;
  while (end < line.size()) {
    const size_t space = line.find(' ', end);
    if (space == std::string_view::npos) {
      end = line.size();
      break;
    }
    size_t k = space + 1;
    while (k < line.size() && key_char(line[k])) ++k;
    if (k > space + 1 && k < line.size() && line[k] == '=') {
      end = space;
      break;
    }
    end = space + 1;
  }
  return std::string(trim(line.substr(begin, end - begin)));
}

Result<SlurmJobInfo> parse_scontrol_job(std::string_view line) {
  line = trim(line);
  if (const size_t nl = line.find('\n'); nl != std::string_view::npos) line = line.substr(0, nl);
  SlurmJobInfo info;
  auto id = scontrol_value(line, "JobId");
  if (!id || to_number<int64_t>(*id).value_or(0) <= 0) {
    return fail("scontrol printed no JobId: '{}'", std::string(line.substr(0, 200)));
  }
  info.id = *to_number<int64_t>(*id);
  auto state = scontrol_value(line, "JobState");
  if (!state) return fail("scontrol printed no JobState for job {}", info.id);
  info.state = base_state(*state);
  if (!valid_state_word(info.state)) return fail("scontrol printed an unreadable JobState for job {}", info.id);
  if (auto reason = scontrol_value(line, "Reason"); reason && *reason != "None" && *reason != "(null)") {
    info.reason = reason->substr(0, 200);
  }
  if (auto node = scontrol_value(line, "NodeList"); node && *node != "(null)") info.node = node->substr(0, 200);
  if (auto run = scontrol_value(line, "RunTime")) {
    if (auto s = parse_slurm_duration(*run)) info.elapsed_seconds = *s;
  }
  if (auto cpus = scontrol_value(line, "NumCPUs")) info.cpus = count_of(*cpus);
  if (auto tres = scontrol_value(line, "TRES")) info.gpus = gpus_in_tres(*tres);
  if (auto exit = scontrol_value(line, "ExitCode")) read_exit_code(*exit, info);
  return info;
}

Result<SlurmJobInfo> parse_sacct_job(std::string_view out, int64_t id) {
  std::istringstream in{std::string(out)};
  std::string line;
  const std::string want = std::to_string(id);
  while (std::getline(in, line)) {
    std::vector<std::string_view> f;
    std::string_view rest = trim(line);
    while (true) {
      const size_t bar = rest.find('|');
      f.push_back(rest.substr(0, bar));
      if (bar == std::string_view::npos) break;
      rest = rest.substr(bar + 1);
    }
    if (f.size() < 5 || trim(f[0]) != want) continue;  // steps are "123.batch", "123.0"
    SlurmJobInfo info;
    info.id = id;
    info.state = base_state(f[1]);
    if (!valid_state_word(info.state)) return fail("sacct printed an unreadable state for job {}", id);
    read_exit_code(trim(f[2]), info);
    if (auto s = parse_slurm_duration(f[3])) info.elapsed_seconds = *s;
    info.cpus = count_of(trim(f[4]));
    if (f.size() > 5) info.node = std::string(trim(f[5])).substr(0, 200);
    return info;
  }
  return fail("sacct knows no job {}", id);
}

JobPoll slurm_job_poll(const SlurmJobInfo& info) {
  JobPoll p;
  p.reason = info.reason;
  p.node = info.node == "None assigned" ? "" : info.node;
  p.elapsed_seconds = info.elapsed_seconds;
  p.cpus = info.cpus;
  p.gpus = info.gpus;
  p.exit_code = info.exit_code;
  p.signal = info.signal;
  const std::string& s = info.state;
  auto is = [&](std::initializer_list<std::string_view> names) {
    for (auto n : names) {
      if (s == n) return true;
    }
    return false;
  };
  if (is({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED",
          "STOPPED"})) {
    p.state = JobState::queued;
    p.summary = s;
  } else if (is({"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"})) {
    p.state = JobState::running;
    p.summary = s;
  } else if (s == "COMPLETED") {
    p.state = JobState::succeeded;
    p.summary = "COMPLETED";
  } else if (is({"FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED", "SPECIAL_EXIT",
                 "REVOKED"})) {
    p.state = JobState::failed;
    p.summary = s;
    if (info.signal != 0) {
      p.summary += " (signal " + std::to_string(info.signal) + ")";
    } else if (info.exit_code != 0) {
      p.summary += " (exit code " + std::to_string(info.exit_code) + ")";
    }
    if (!info.reason.empty()) p.summary += ", reason " + info.reason;
  } else if (s == "CANCELLED") {
    p.state = JobState::cancelled;
    p.summary = "CANCELLED";
  } else if (s == "TIMEOUT") {
    p.state = JobState::timeout;
    p.summary = "TIMEOUT";
  } else {
    p.state = JobState::unknown;
    p.summary = "unknown Slurm state " + s;
  }
  return p;
}

}  // namespace officina
