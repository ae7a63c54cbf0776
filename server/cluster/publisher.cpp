#include "server/cluster/publisher.hpp"

#include "common/protocol/client_id.hpp"
#include "common/protocol/envelope.hpp"
#include "common/redis/error.hpp"

namespace switchboard {

bool publisher::reaches_anyone(protocol::scope scope, std::string_view target) {
  return scope != protocol::scope::direct || protocol::worker_key_of(target).has_value();
}

std::optional<std::string> publisher::history_room(const outbound_message& m) const {
  std::string room;
  if (m.scope == protocol::scope::room) room = m.target;
  else if (m.scope == protocol::scope::user) room = "user:" + std::string(m.target);
  else return std::nullopt;
  if (!history_.keeps(room)) return std::nullopt;
  return room;
}

history_store::stored_message publisher::stored(const outbound_message& m, std::string room,
                                                std::string channel) const {
  return {std::move(room), std::move(channel), m.scope, std::string(m.target),
          protocol::message_frame_head(m.scope, m.from, m.target, m.data, m.from_user)};
}

asio::awaitable<error_code> publisher::publish_all(std::span<const outbound_message> messages,
                                                   std::vector<std::optional<protocol::stream_position>>& stored_at) {
  std::vector<std::vector<std::string>> commands;
  // For each command, the message it publishes, and whether it stores it.
  std::vector<std::pair<std::size_t, bool>> sources;
  commands.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    auto channel = keys_.channel_for(m.scope, m.target);
    if (!channel) continue;
    if (auto room = history_room(m)) {
      commands.push_back(history_.append_command(stored(m, std::move(*room), std::move(*channel))));
      sources.emplace_back(i, true);
    } else {
      auto frame = protocol::message_frame(m.scope, m.from, m.target, m.data, m.from_user);
      commands.push_back({std::string(bus_.publish_verb()), std::move(*channel),
                          protocol::encode_envelope(m.scope, m.target, frame)});
      sources.emplace_back(i, false);
    }
  }
  stored_at.assign(messages.size(), std::nullopt);
  if (commands.empty()) co_return error_code{};
  auto done = co_await bus_.transaction(commands);
  if (done.ec) co_return done.ec;
  for (std::size_t c = 0; c < sources.size(); ++c) {
    if (!sources[c].second) continue;
    stored_at[sources[c].first] = history_store::appended_at(done.replies[c]);
    metrics::add(metrics_.history_appends);
  }
  co_return error_code{};
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

asio::awaitable<publish_result> publisher::publish(const outbound_message& m) {
  auto channel = keys_.channel_for(m.scope, m.target);
  if (!channel) co_return publish_result{};
  if (auto room = history_room(m)) {
    auto message = stored(m, std::move(*room), std::move(*channel));
    auto appended = co_await history_.append(message);
    if (appended.ec) co_return publish_result{appended.ec, std::nullopt};
    metrics::add(metrics_.history_appends);
    co_return publish_result{{}, std::move(appended.at)};
  }
  auto frame = protocol::message_frame(m.scope, m.from, m.target, m.data, m.from_user);
  std::string envelope = protocol::encode_envelope(m.scope, m.target, frame);
  error_code ec = co_await bus_.publish(*channel, envelope);
  co_return publish_result{ec, std::nullopt};
}

}  // namespace switchboard
