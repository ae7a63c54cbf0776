#include "common/redis/endpoint.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

namespace switchboard::redis {
namespace {

std::optional<endpoint> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

bool parse_db_number(std::string_view text, int& db) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), db);
  return ec == std::errc{} && end == text.data() + text.size() && db >= 0;
}

std::string endpoint::describe() const {
  std::string out = is_unix() ? "unix://" + socket_path : "redis://" + host + ":" + std::to_string(port);
  if (db != 0) out += (is_unix() ? "?db=" : "/") + std::to_string(db);
  return out;
}

std::optional<endpoint> parse_endpoint(std::string_view url, std::string* why) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return reject(why, "not a URL");
  const auto& u = *parsed;
  endpoint ep;
  if (u.has_userinfo()) {
    ep.user = u.user();
    ep.password = u.password();
  }
  if (u.scheme() == "unix") {
    if (!u.encoded_host().empty()) return reject(why, "unix URL must be unix:///absolute/path");
    ep.socket_path = u.path();
    if (ep.socket_path.empty() || ep.socket_path.front() != '/')
      return reject(why, "unix URL must name an absolute socket path");
    for (auto param : u.params()) {
      if (param.key != "db") return reject(why, "unknown parameter " + std::string(param.key));
      if (!parse_db_number(param.value, ep.db)) return reject(why, "db must be a non-negative integer");
    }
    return ep;
  }
  if (u.scheme() != "redis") return reject(why, "scheme must be redis:// or unix://");
  ep.host = u.host();
  if (ep.host.empty()) return reject(why, "missing host");
  if (u.host_type() == boost::urls::host_type::ipv6) ep.host = u.host_address();
  if (u.has_port()) {
    if (u.port_number() == 0) return reject(why, "port must be 1 to 65535");
    ep.port = u.port_number();
  }
  std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    if (!parse_db_number(path.substr(1), ep.db)) return reject(why, "path must be /<db number>");
  }
  return ep;
}

}  // namespace switchboard::redis
