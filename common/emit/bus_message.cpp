#include "common/emit/bus_message.hpp"

#include <nlohmann/json.hpp>

#include "common/emit/error.hpp"
#include "common/protocol/client_id.hpp"
#include "common/protocol/envelope.hpp"

namespace switchboard::emit {
namespace {

using json = nlohmann::json;
using protocol::scope;

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF). Names reach clients inside JSON strings and text frames, where
// anything else would be replaced or make the browser close the connection.
bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The continuation bytes that may follow `c`: the first within [lo, hi].
    std::size_t extra = 0;
    if (c >= 0xc2 && c <= 0xdf) extra = 1;
    else if (c >= 0xe0 && c <= 0xef) extra = 2;
    else if (c >= 0xf0 && c <= 0xf4) extra = 3;
    else return false;
    // E0 and F0 would start overlong forms below these, ED surrogates and
    // F4 code points past U+10FFFF above them.
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Room names and user ids follow one rule (PROTOCOL.md, "Client to server").
bool is_valid_name(std::string_view name) { return is_utf8(name) && protocol::is_valid_room_name(name); }

// `data` written back compact, or why not.
std::optional<std::string> compact(std::string_view data, boost::system::error_code& ec) {
  bool too_deep = false;
  // Depth counts the containers around a value: 0 for the outermost.
  auto limit = [&too_deep](int depth, json::parse_event_t event, json&) {
    bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= max_data_depth) too_deep = true;
    return !too_deep;
  };
  json doc = json::parse(data.begin(), data.end(), limit, /*allow_exceptions=*/false);
  if (too_deep) {
    ec = errc::too_deep;
    return std::nullopt;
  }
  if (doc.is_discarded()) {
    ec = errc::bad_json;
    return std::nullopt;
  }
  return doc.dump();
}

prepared refuse(errc why) { return prepared{make_error_code(why), std::nullopt}; }

}  // namespace

prepared prepare(const redis_keys& keys, const message& m) {
  scope kind = m.scope;
  std::string_view target = kind == scope::broadcast ? std::string_view{} : m.target;
  if (kind == scope::room) {
    if (!is_valid_name(target)) return refuse(errc::bad_room);
    if (auto user = protocol::personal_room_user(target)) {
      kind = scope::user;
      target = *user;
    }
  }
  if (kind == scope::user && !is_valid_name(target)) return refuse(errc::bad_user);
  if (kind == scope::direct && !protocol::is_valid_client_id(target)) return refuse(errc::bad_id);

  // Member events are the workers' own announcements.
  if (kind == scope::member) return refuse(errc::bad_scope);
  auto channel = keys.channel_for(kind, target);  // none: the message reaches nobody

  boost::system::error_code ec;
  auto data = compact(m.data, ec);
  if (!data) return prepared{ec, std::nullopt};
  if (!channel) return prepared{};
  auto frame = protocol::message_frame(kind, "server", target, *data);
  return prepared{{}, bus_message{std::move(*channel), protocol::encode_envelope(kind, target, frame)}};
}

}  // namespace switchboard::emit
