#include "server/cluster/publisher.hpp"

#include "common/protocol/client_id.hpp"
#include "common/protocol/envelope.hpp"

namespace switchboard {

bool publisher::reaches_anyone(protocol::scope scope, std::string_view target) {
  return scope != protocol::scope::direct || protocol::worker_key_of(target).has_value();
}

asio::awaitable<error_code> publisher::publish_all(std::span<const outbound_message> messages) {
  std::vector<std::pair<std::string, std::string>> wire;
  wire.reserve(messages.size());
  for (const auto& m : messages) {
    auto channel = keys_.channel_for(m.scope, m.target);
    if (!channel) continue;
    auto frame = protocol::message_frame(m.scope, m.from, m.target, m.data, m.from_user);
    wire.emplace_back(std::move(*channel), protocol::encode_envelope(m.scope, m.target, frame));
  }
  if (wire.empty()) co_return error_code{};
  co_return co_await bus_.publish_all(wire);
}

asio::awaitable<error_code> publisher::publish_member_event(bool joined, std::string_view room, std::string_view id,
                                                           std::string_view user) {
  // Named, not temporaries in the co_await: GCC 12 mishandles those.
  std::string target = std::string(id) + ' ' + std::string(room);
  std::string channel = keys_.room_channel(room);
  std::string envelope =
      protocol::encode_envelope(protocol::scope::member, target, protocol::member_frame(joined, room, id, user));
  co_return co_await bus_.publish(channel, envelope);
}

asio::awaitable<error_code> publisher::publish(const outbound_message& m) {
  auto channel = keys_.channel_for(m.scope, m.target);
  if (!channel) co_return error_code{};
  auto frame = protocol::message_frame(m.scope, m.from, m.target, m.data, m.from_user);
  co_return co_await bus_.publish(*channel, protocol::encode_envelope(m.scope, m.target, frame));
}

}  // namespace switchboard
