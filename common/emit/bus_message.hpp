#pragma once
// What a program outside the server PUBLISHes to deliver a message to
// clients (docs/protocol.md, "Publishing without HTTP"): the channel and the
// envelope, built exactly as the server's own publish path builds them, with
// "from":"server". Pure: no I/O, so every rule is tested without Redis.

#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

#include "common/protocol/frames.hpp"
#include "common/protocol/redis_keys.hpp"
#include "common/protocol/request.hpp"

namespace switchboard::emit {

// A client's data sits inside its request object, which the server lets
// nest protocol::max_json_depth deep; a backend's data may nest as deep.
inline constexpr int max_data_depth = protocol::max_json_depth - 1;

// What to deliver. `scope`: broadcast, room, user or direct (member events
// are the workers' own). `target`: the room (room), the user id (user), the
// connection id (direct); ignored for broadcast. `data`: JSON text.
struct message {
  protocol::scope scope{};
  std::string_view target;
  std::string_view data;
};

// One PUBLISH: PUBLISH <channel> <envelope>.
struct bus_message {
  std::string channel;
  std::string envelope;
};

struct prepared {
  boost::system::error_code error;  // set: the message was refused (emit::errc)
  // Empty without an error: a direct message to an id that no worker hands
  // out, which reaches nobody (the server drops it the same way).
  std::optional<bus_message> publish;
};

// Checks `m` and builds its PUBLISH. A room named user:U is U's personal
// room: it goes out as a message to user U, as a client's would. The data is
// parsed and written back compact, so what clients get is normalised JSON.
prepared prepare(const redis_keys& keys, const message& m);

}  // namespace switchboard::emit
