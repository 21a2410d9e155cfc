#include <fcntl.h>
#include <sys/prctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "platform/job_executor.h"

namespace officina {
namespace {

std::mutex g_mutex;
std::map<int64_t, JobPoll> g_finished;  // reaped children, by pid

JobPoll from_status(int status) {
  JobPoll p;
  if (WIFEXITED(status)) {
    p.exit_code = WEXITSTATUS(status);
    p.state = p.exit_code == 0 ? JobState::succeeded : JobState::failed;
    p.summary = "exit code " + std::to_string(p.exit_code);
  } else if (WIFSIGNALED(status)) {
    p.signal = WTERMSIG(status);
    p.state = JobState::failed;
    p.summary = "killed by signal " + std::to_string(p.signal) + " (" + strsignal(p.signal) + ")";
  }
  return p;
}

}  // namespace

Result<int64_t> LocalExecutor::start(const JobLaunch& launch) {
  if (launch.argv.empty()) return fail("executor: no command");
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& a : launch.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log = ::open(launch.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return fail("executor: {}: {}", launch.log_path, std::strerror(errno));
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  cpu_set_t allowed;
  const bool have_affinity = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  if (have_affinity) {
    int taken = 0;
    for (int c = 0; c < CPU_SETSIZE && taken < launch.cores; ++c) {
      if (CPU_ISSET(c, &allowed)) {
        CPU_SET(c, &cpus);
        ++taken;
      }
    }
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return fail("executor: fork: {}", std::strerror(errno));
  }
  if (pid == 0) {
    // The job dies with the thread that started it (a server killed with
    // -9 leaves no orphan training; the restarted server resumes the job).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setpgid(0, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    for (int fd : launch.keep_fds) {
      const int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    if (launch.memory_mb > 0) {
      rlimit limit{static_cast<rlim_t>(launch.memory_mb) << 20, static_cast<rlim_t>(launch.memory_mb) << 20};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    if (have_affinity && CPU_COUNT(&cpus) > 0) ::sched_setaffinity(0, sizeof cpus, &cpus);
    ::execv(argv[0], argv.data());
    const char message[] = "executor: exec failed\n";
    (void)!::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  ::close(log);
  ::setpgid(pid, pid);  // also from the parent, so a cancel right away finds the group
  {
    std::lock_guard lock(g_mutex);
    g_finished.erase(pid);  // a recycled pid is a new job
  }
  return static_cast<int64_t>(pid);
}

JobPoll LocalExecutor::poll(int64_t handle) {
  std::lock_guard lock(g_mutex);
  if (auto it = g_finished.find(handle); it != g_finished.end()) return it->second;
  int status = 0;
  const pid_t r = ::waitpid(static_cast<pid_t>(handle), &status, WNOHANG);
  if (r == 0) return JobPoll{};
  if (r < 0) {
    // Not our child (a job from before a restart) or already gone.
    if (::kill(static_cast<pid_t>(handle), 0) == 0) return JobPoll{};
    JobPoll gone;
    gone.state = JobState::failed;
    gone.exit_code = -1;
    gone.summary = "the process is gone";
    return gone;
  }
  JobPoll p = from_status(status);
  g_finished[handle] = p;
  return p;
}

void LocalExecutor::cancel(int64_t handle, double grace_seconds) {
  const pid_t group = static_cast<pid_t>(handle);
  ::kill(-group, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (poll(handle).state != JobState::running) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-group, SIGKILL);
  // Reap it now (the caller may never poll again): no zombie is left.
  int status = 0;
  if (::waitpid(group, &status, 0) == group) {
    std::lock_guard lock(g_mutex);
    g_finished[handle] = from_status(status);
  }
}

}  // namespace officina
