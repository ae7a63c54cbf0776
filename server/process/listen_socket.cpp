#include "server/process/listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace switchboard {
namespace {

// The kernel caps this at net.core.somaxconn; ask for plenty so bursts of
// connects queue instead of being dropped.
constexpr int backlog = 4096;

struct address {
  const std::string& bind;
  std::uint16_t port;
};

[[noreturn]] void fail(const address& cfg, const char* what) {
  int err = errno;
  throw std::system_error(err, std::generic_category(),
                          std::string(what) + " " + cfg.bind + ":" + std::to_string(cfg.port));
}

struct opened {
  int fd;
  bool ipv6;
};

opened open_one(const address& cfg, bool reuse_port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool ipv6 = false;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, cfg.bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(cfg.port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, cfg.bind.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(cfg.port);
    length = sizeof *v6;
    ipv6 = true;
  } else {
    errno = EINVAL;
    fail(cfg, "bad address");
  }
  int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(cfg, "socket");
  int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)) {
    ::close(fd);
    fail(cfg, "setsockopt");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    fail(cfg, "cannot listen on");
  }
  if (::listen(fd, backlog) != 0) {
    ::close(fd);
    fail(cfg, "listen");
  }
  return {fd, ipv6};
}

}  // namespace

std::vector<listen_socket> open_listen_sockets(const config& cfg) {
  std::vector<listen_socket> sockets;
  const address public_address{cfg.bind, cfg.port};
  const address api_address{cfg.api_bind, cfg.api_port};
  const bool own_api = cfg.api_port != 0;
  // SO_REUSEPORT would let us join another process's group on the same port
  // and silently share its traffic: first prove the ports are free.
  ::close(open_one(public_address, false).fd);
  if (own_api) ::close(open_one(api_address, false).fd);
  try {
    for (int i = 0; i < cfg.workers; ++i) {
      auto [fd, ipv6] = open_one(public_address, true);
      sockets.push_back({fd, ipv6});
      if (own_api) {
        auto [api_fd, api_ipv6] = open_one(api_address, true);
        sockets.back().api_fd = api_fd;
        sockets.back().api_ipv6 = api_ipv6;
      }
    }
  } catch (...) {
    close_listen_sockets(sockets);
    throw;
  }
  return sockets;
}

void close_listen_socket(const listen_socket& socket) {
  ::close(socket.fd);
  if (socket.api_fd >= 0) ::close(socket.api_fd);
}

void close_listen_sockets(std::vector<listen_socket>& sockets) {
  for (const auto& s : sockets) close_listen_socket(s);
  sockets.clear();
}

}  // namespace switchboard
