#include "serve/client_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <string>

namespace officina {

namespace {

struct Endpoint {
  std::string addr;
  int port = -1;
};

std::optional<Endpoint> endpoint_of(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    if (!inet_ntop(AF_INET, &a.sin_addr, text, sizeof text)) return std::nullopt;
    return Endpoint{text, ntohs(a.sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    if (!inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text)) return std::nullopt;
    return Endpoint{text, ntohs(a.sin6_port)};
  }
  return std::nullopt;
}

bool matches(int fd, std::string_view addr, int port, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return false;
  auto e = endpoint_of(ss);
  return e && e->port == port && e->addr == addr;
}

}  // namespace

std::optional<ClientConnection> ClientConnection::find(std::string_view local_addr, int local_port,
                                                       std::string_view remote_addr, int remote_port) {
  if (local_port < 0 || remote_port < 0) return std::nullopt;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (matches(fd, remote_addr, remote_port, true) && matches(fd, local_addr, local_port, false)) {
      return ClientConnection(fd);
    }
  }
  return std::nullopt;
}

bool ClientConnection::closed() const {
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  if (p.revents & POLLIN) {
    char c;
    return recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  return false;
}

}  // namespace officina
