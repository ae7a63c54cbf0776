#include "scripts/loadtest/target.hpp"

#include <netdb.h>

#include <boost/url/parse.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace switchboard::load {
namespace {

tcp::endpoint resolve(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("cannot resolve " + host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, &freeaddrinfo);
  tcp::endpoint ep;
  ep.resize(found->ai_addrlen);
  std::memcpy(ep.data(), found->ai_addr, found->ai_addrlen);
  return ep;
}

}  // namespace

target resolve_target(const std::string& url, int source_addrs) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("--url: '" + url + "' is not a URL (e.g. ws://127.0.0.1:8080/ws)");
  if (parsed->scheme() != "ws") throw std::runtime_error("--url: only ws:// URLs are supported");
  std::string host = parsed->host_address();  // without the brackets of an IPv6 literal
  if (host.empty()) throw std::runtime_error("--url: '" + url + "' has no host");
  std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";

  target t;
  t.host_header = std::string(parsed->encoded_host_and_port());
  t.resource = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.resource += "?" + std::string(parsed->encoded_query());
  t.endpoint = resolve(host, port);

  if (source_addrs > 1) {
    auto address = t.endpoint.address();
    if (!address.is_v4() || !address.is_loopback())
      throw std::runtime_error("--source-addrs: binding to 127.0.0.x needs a loopback IPv4 target, not " +
                               address.to_string());
    for (int i = 1; i <= source_addrs; ++i)
      t.sources.push_back(asio::ip::make_address_v4(0x7f000000u + static_cast<unsigned>(i)));
  }
  return t;
}

}  // namespace switchboard::load
