// Test support for live mode: a real mosquitto broker on a free loopback
// port (127.0.0.1 only) with persistence in the test's own directory, bounded
// waits, and clients with short reconnect backoff. Header-only, for
// tests/twin/mqtt_*_test.cc. Without mosquitto, REQUIRE_MOSQUITTO skips the
// test, unless CI is set (then it fails). The broker dies with the test
// process (PR_SET_PDEATHSIG) and is stopped by ~TestBroker on every path.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"
#include "twin/telemetry_ingester.h"

namespace officina::twin::test_mqtt {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string find_mosquitto() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && access((dir + "/mosquitto").c_str(), X_OK) == 0) return dir + "/mosquitto";
    }
  }
  for (const char* p : {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci && *ci;
}

// Waits for pred() up to timeout, polling; true when it held.
inline bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

inline int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

inline bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// A mosquitto on 127.0.0.1 only, with persistence in its own directory so
// queued QoS 1 messages and persistent sessions survive a restart.
class TestBroker {
 public:
  TestBroker(std::string binary, std::string dir) : binary_(std::move(binary)), dir_(std::move(dir)) {
    port_ = free_loopback_port();
    std::ofstream conf(dir_ + "/mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << "persistence true\n"
         << "persistence_location " << dir_ << "/\n"
         << "max_queued_messages 1000000\n"
         << "log_dest stderr\n";
    // As root mosquitto drops to its own user, which cannot write our 0700 directory.
    if (geteuid() == 0) conf << "user root\n";
  }
  ~TestBroker() { stop(); }

  int port() const { return port_; }

  // Starts and waits (up to 5 s) until the port accepts connections.
  ::testing::AssertionResult start() {
    if (pid_ > 0) return ::testing::AssertionFailure() << "already running";
    const std::string conf = dir_ + "/mosquitto.conf", log = dir_ + "/mosquitto.log";
    pid_t pid = fork();
    if (pid < 0) return ::testing::AssertionFailure() << "fork failed";
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test process
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(binary_.c_str(), binary_.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pid_ = pid;
    bool up = wait_for([&] {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;  // exited: reported below
      }
      return port_open(port_);
    }, 5000ms);
    if (pid_ < 0 || !up) {
      stop();
      return ::testing::AssertionFailure() << "mosquitto did not start on port " << port_ << ":\n" << log_text();
    }
    return ::testing::AssertionSuccess();
  }

  // SIGTERM (mosquitto saves its persistence file on the way out), then
  // SIGKILL if it has not exited within 5 s.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = wait_for([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 5000ms);
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  std::string log_text() const {
    std::ifstream in(dir_ + "/mosquitto.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string binary_, dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

#define REQUIRE_MOSQUITTO(binary)                                                                          \
  std::string binary = ::officina::twin::test_mqtt::find_mosquitto();                                                                   \
  if (binary.empty()) {                                                                                    \
    if (::officina::twin::test_mqtt::under_ci()) FAIL() << "mosquitto is not installed (CI is set): run scripts/install-deps.sh";     \
    GTEST_SKIP() << "mosquitto is not installed (apt-get install mosquitto)";                              \
  }

inline MqttClientOptions client_options(int port, const std::string& id) {
  MqttClientOptions o;
  o.broker.host = "127.0.0.1";
  o.broker.port = port;
  o.client_id = id + "-" + std::to_string(getpid());
  o.min_backoff_s = 0.05;
  o.max_backoff_s = 0.25;
  return o;
}

inline std::unique_ptr<TelemetryIngester> start_ingester(const std::string& store, int port) {
  IngestOptions o;
  o.mqtt = client_options(port, "officina-test-ingest");
  o.mqtt.clean_session = false;
  o.batch_interval_s = 0.05;
  auto ingester = TelemetryIngester::open(store, o);
  EXPECT_TRUE(ingester) << ingester.error().message;
  if (!ingester) return nullptr;
  (*ingester)->start();
  return std::move(*ingester);
}


}  // namespace officina::twin::test_mqtt
