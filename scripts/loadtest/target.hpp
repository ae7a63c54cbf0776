#pragma once
// Where the load goes: a ws:// URL parsed and resolved once, before the load
// processes are forked (with getaddrinfo: no io_context may exist before fork).

#include <string>
#include <vector>

#include "common/net.hpp"

namespace switchboard::load {

struct target {
  std::string host_header;  // "host:port", sent as Host
  std::string resource;     // path and query, e.g. "/ws?token=..."
  tcp::endpoint endpoint;
  // Local addresses to bind before connecting; empty: let the kernel choose.
  std::vector<asio::ip::address> sources;
};

// Throws std::runtime_error saying what is wrong with the URL, the name, or
// the source addresses (127.0.0.x can only reach a loopback target).
target resolve_target(const std::string& url, int source_addrs);

}  // namespace switchboard::load
