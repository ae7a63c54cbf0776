#pragma once
// The node's listening sockets, made by the master before it forks.
//
// One SO_REUSEPORT socket per worker slot: the kernel spreads connections
// evenly over the slots, and because the master keeps every socket open, a
// slot's queue outlives the worker that serves it. Connections that arrive
// while a slot's worker is being replaced wait in that queue for the next
// worker instead of being refused.

#include <string>
#include <vector>

#include "common/config.hpp"

namespace switchboard {

// One worker slot's sockets: the public one, and the API's own (with
// --api-port; api_fd is -1 without).
struct listen_socket {
  int fd = -1;
  bool ipv6 = false;
  int api_fd = -1;
  bool api_ipv6 = false;
};

// Throws std::system_error naming the address when a socket cannot be made.
std::vector<listen_socket> open_listen_sockets(const config& cfg);
void close_listen_sockets(std::vector<listen_socket>& sockets);
// Closes one slot's sockets (a worker closes the other slots').
void close_listen_socket(const listen_socket& socket);

}  // namespace switchboard
