#include "common/redis/sentinel_group.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

namespace switchboard::redis {
namespace {

constexpr std::string_view scheme = "sentinel://";

std::optional<sentinel_group> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

// One "host[:port]" of the list, read by Boost.URL as an authority.
std::optional<endpoint> parse_sentinel(std::string_view text, std::string* why) {
  auto authority = boost::urls::parse_authority(text);
  if (!authority || authority->has_userinfo() || authority->host().empty()) {
    if (why) *why = "'" + std::string(text) + "' is not a host[:port]";
    return std::nullopt;
  }
  endpoint ep;
  ep.host = authority->host_type() == boost::urls::host_type::ipv6 ? authority->host_address() : authority->host();
  ep.port = sentinel_group::default_port;
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

std::string sentinel_group::describe() const {
  std::string out(scheme);
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    if (i != 0) out += ',';
    out += sentinels[i].host + ":" + std::to_string(sentinels[i].port);
  }
  out += "/" + master_name;
  if (primary.db != 0) out += "?db=" + std::to_string(primary.db);
  return out;
}

std::optional<sentinel_group> parse_sentinel_url(std::string_view url, std::string* why) {
  if (!url.starts_with(scheme)) return reject(why, "scheme must be sentinel://");
  // A URL has one host; this one lists several. Boost.URL reads the URL
  // with the first host in place of the list (userinfo, path, query), and
  // each host of the list as an authority of its own.
  std::string_view rest = url.substr(scheme.size());
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  std::size_t at = authority.rfind('@');
  std::string_view hosts = at == std::string_view::npos ? authority : authority.substr(at + 1);
  std::string_view userinfo = at == std::string_view::npos ? std::string_view{} : authority.substr(0, at + 1);
  if (hosts.empty()) return reject(why, "names no sentinel");
  if (hosts.front() == ',' || hosts.back() == ',') return reject(why, "empty entry in the sentinel list");

  std::string single(scheme);
  single += userinfo;
  single += hosts.substr(0, hosts.find(','));
  single += tail;
  auto parsed = boost::urls::parse_uri(single);
  if (!parsed) return reject(why, "not a URL");
  const auto& u = *parsed;
  if (u.has_fragment()) return reject(why, "a fragment (#...) has no meaning here");

  sentinel_group group;
  group.primary.primary_only = true;
  if (u.has_userinfo()) {
    group.primary.user = u.user();
    group.primary.password = u.password();
  }
  std::string path = u.path();
  if (path.size() < 2 || path.find('/', 1) != std::string::npos)
    return reject(why, "path must be /<master name>");
  group.master_name = path.substr(1);
  std::string sentinel_password;
  for (auto param : u.params()) {
    if (param.key == "db") {
      if (!parse_db_number(param.value, group.primary.db)) return reject(why, "db must be a non-negative integer");
    } else if (param.key == "sentinel_password") {
      sentinel_password = param.value;
    } else {
      return reject(why, "unknown parameter " + std::string(param.key));
    }
  }

  while (!hosts.empty()) {
    std::size_t comma = hosts.find(',');
    std::string_view one = hosts.substr(0, comma);
    hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
    if (one.empty()) return reject(why, "empty entry in the sentinel list");
    std::string reason;
    auto sentinel = parse_sentinel(one, &reason);
    if (!sentinel) return reject(why, reason);
    sentinel->password = sentinel_password;
    group.sentinels.push_back(std::move(*sentinel));
  }
  return group;
}

}  // namespace switchboard::redis
