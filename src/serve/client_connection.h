// The TCP connection an HTTP request arrived on, to notice a client that
// gave up while its non-streamed completion is still being generated (a
// stream notices on its next write). cpp-httplib 0.11 does not hand the
// socket to handlers, so find() looks it up among the process's sockets by
// the request's local and remote address and port, which identify one
// connection while it is open.
//
// closed() is true once the peer has closed or reset its end (poll reports
// hang-up, read hang-up or an error, or a peek reads end-of-file). A client
// that only shuts down its sending side while it waits (rare; HTTP clients
// keep both) also reads as gone.
// Thread-safety: use from the thread that serves the request, while the
// handler runs (the socket is open until it returns).
#pragma once

#include <optional>
#include <string_view>

namespace officina {

class ClientConnection {
 public:
  // Nothing when no open socket matches (the client is already gone, or an
  // address could not be read).
  static std::optional<ClientConnection> find(std::string_view local_addr, int local_port, std::string_view remote_addr,
                                              int remote_port);
  bool closed() const;
  int fd() const { return fd_; }

 private:
  explicit ClientConnection(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace officina
