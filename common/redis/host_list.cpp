#include "common/redis/host_list.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

namespace switchboard::redis {
namespace {

std::optional<host_list_url> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

// One "host[:port]" of the list, read by Boost.URL as an authority.
std::optional<endpoint> parse_host(std::string_view text, std::uint16_t default_port, std::string* why) {
  auto authority = boost::urls::parse_authority(text);
  if (!authority || authority->has_userinfo() || authority->host().empty()) {
    if (why) *why = "'" + std::string(text) + "' is not a host[:port]";
    return std::nullopt;
  }
  endpoint ep;
  ep.host = authority->host_type() == boost::urls::host_type::ipv6 ? authority->host_address() : authority->host();
  ep.port = default_port;
  if (authority->has_port()) {
    // Read here: Boost.URL takes any run of digits as a port.
    std::string_view digits = authority->port();
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ep.port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || ep.port == 0) {
      if (why) *why = "port of '" + std::string(text) + "' must be 1 to 65535";
      return std::nullopt;
    }
  }
  return ep;
}

}  // namespace

std::string describe_hosts(const std::vector<endpoint>& hosts) {
  std::string out;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i != 0) out += ',';
    out += hosts[i].host + ":" + std::to_string(hosts[i].port);
  }
  return out;
}

std::optional<host_list_url> parse_host_list_url(std::string_view url, std::string_view scheme,
                                                 std::uint16_t default_port, std::string_view noun,
                                                 std::string* why) {
  if (!url.starts_with(scheme)) return reject(why, "scheme must be " + std::string(scheme));
  std::string_view rest = url.substr(scheme.size());
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  std::size_t at = authority.rfind('@');
  std::string_view hosts = at == std::string_view::npos ? authority : authority.substr(at + 1);
  std::string_view userinfo = at == std::string_view::npos ? std::string_view{} : authority.substr(0, at + 1);
  std::string empty_entry = "empty entry in the " + std::string(noun) + " list";
  if (hosts.empty()) return reject(why, "names no " + std::string(noun));
  if (hosts.front() == ',' || hosts.back() == ',') return reject(why, empty_entry);

  std::string single(scheme);
  single += userinfo;
  single += hosts.substr(0, hosts.find(','));
  single += tail;
  auto parsed = boost::urls::parse_uri(single);
  if (!parsed) return reject(why, "not a URL");
  const auto& u = *parsed;
  if (u.has_fragment()) return reject(why, "a fragment (#...) has no meaning here");

  host_list_url out;
  if (u.has_userinfo()) {
    out.user = u.user();
    out.password = u.password();
  }
  out.path = u.path();
  for (auto param : u.params()) out.params.emplace_back(param.key, param.value);

  while (!hosts.empty()) {
    std::size_t comma = hosts.find(',');
    std::string_view one = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
    if (one.empty()) return reject(why, empty_entry);
    std::string reason;
    auto host = parse_host(one, default_port, &reason);
    if (!host) return reject(why, reason);
    out.hosts.push_back(std::move(*host));
  }
  return out;
}

}  // namespace switchboard::redis
