#include "common/redis/channel_subscriber.hpp"

#include <charconv>

#include "common/log.hpp"
#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"

namespace switchboard::redis {

channel_subscriber::channel_subscriber(asio::any_io_executor ex, client_options options, message_handler on_message,
                                       bool sharded)
    : ex_(ex),
      client_(ex, std::move(options)),
      on_message_(std::move(on_message)),
      sharded_(sharded),
      subscribe_(sharded ? "SSUBSCRIBE" : "SUBSCRIBE"),
      unsubscribe_(sharded ? "SUNSUBSCRIBE" : "UNSUBSCRIBE"),
      message_kind_(sharded ? "smessage" : "message"),
      subscribe_kind_(sharded ? "ssubscribe" : "subscribe"),
      unsubscribe_kind_(sharded ? "sunsubscribe" : "unsubscribe") {
  client_.on_push = [this](reply_ptr reply) { handle_push(std::move(reply)); };
  client_.on_up = [this] { handle_up(); };
  client_.on_down = [this](error_code) { handle_down(); };
}

std::vector<std::string> channel_subscriber::wanted() const {
  std::vector<std::string> out;
  for (const auto& [name, state] : channels_)
    if (state.wanted) out.push_back(name);
  return out;
}

bool channel_subscriber::holds(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.wanted && it->second.confirmed;
}

std::size_t channel_subscriber::channels() const {
  std::size_t n = 0;
  for (const auto& [name, state] : channels_) n += state.wanted ? 1 : 0;
  return n;
}

asio::awaitable<error_code> channel_subscriber::subscribe(std::string channel) {
  auto& state = channels_[channel];
  if (state.wanted && state.confirmed) co_return error_code{};
  if (!client_.is_up()) {
    state.wanted = true;
    recount();
    co_return make_error_code(errc::unavailable);
  }
  // A SUBSCRIBE already in the pipe for a wanted channel will confirm it;
  // otherwise (new, or wanted again after an UNSUBSCRIBE) send one more.
  if (!state.wanted || state.outstanding == 0) {
    state.wanted = true;
    std::array<std::string_view, 2> args{subscribe_, channel};
    client_.send(args);
    ++state.outstanding;
    recount();
  }
  auto [ec] = co_await asio::async_initiate<decltype(use_nothrow), void(error_code)>(
      [&state](auto handler) { state.waiters.push_back(std::move(handler)); }, use_nothrow);
  co_return ec;
}

void channel_subscriber::unsubscribe(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || !it->second.wanted) return;
  it->second.wanted = false;
  it->second.confirmed = false;
  release_waiters(it->second, make_error_code(errc::closed));
  if (client_.is_up()) {
    std::array<std::string_view, 2> args{unsubscribe_, channel};
    client_.send(args);
  } else {
    channels_.erase(it);
  }
  recount();
}

void channel_subscriber::handle_push(reply_ptr reply) {
  if (sharded_ && reply->type == REDIS_REPLY_ERROR) {
    // "MOVED <slot> <address>": an SSUBSCRIBE for a slot this node does not
    // serve. Its channels belong elsewhere. Any other refusal: start over.
    std::string_view text = text_of(*reply);
    std::uint16_t slot = 0;
    if (text.starts_with("MOVED ")) {
      std::string_view digits = text.substr(6, text.find(' ', 6) - 6);
      std::from_chars(digits.data(), digits.data() + digits.size(), slot);
      std::vector<std::string> moved;
      for (const auto& [name, state] : channels_)
        if (state.wanted && !state.confirmed && key_slot(name) == slot) moved.push_back(name);
      for (const auto& name : moved) lose(name);
    } else {
      client_.reset_connection();
    }
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  const redisReply& kind = *reply->element[0];
  const redisReply& channel = *reply->element[1];
  if (kind.type != REDIS_REPLY_STRING || channel.type != REDIS_REPLY_STRING) return;
  std::string_view k = text_of(kind);
  if (k == message_kind_) {
    const redisReply& payload = *reply->element[2];
    if (payload.type == REDIS_REPLY_STRING) on_message_(text_of(channel), text_of(payload));
  } else if (k == subscribe_kind_) {
    confirm(text_of(channel));
  } else if (k == unsubscribe_kind_) {
    auto it = channels_.find(std::string(text_of(channel)));
    if (it == channels_.end()) return;
    // Still wanted: the server dropped it (its slot moved away).
    if (sharded_ && it->second.wanted && it->second.outstanding == 0) lose(it->first);
    else if (!it->second.wanted && it->second.outstanding == 0) channels_.erase(it);
  }
}

void channel_subscriber::lose(const std::string& name) {
  auto it = channels_.find(name);
  if (it == channels_.end()) return;
  release_waiters(it->second, make_error_code(errc::unavailable));
  std::string channel = it->first;
  channels_.erase(it);
  recount();
  if (on_lost) on_lost(channel);
  signal_ready();
}

void channel_subscriber::confirm(std::string_view name) {
  auto it = channels_.find(std::string(name));
  if (it == channels_.end()) return;
  auto& state = it->second;
  if (state.outstanding > 0) --state.outstanding;
  // Only the last outstanding SUBSCRIBE proves the channel is held: an
  // earlier one may be followed by an UNSUBSCRIBE still in the pipe.
  if (state.outstanding > 0) return;
  if (!state.wanted) {
    // An UNSUBSCRIBE follows in the pipe; its confirmation erases the entry.
    return;
  }
  state.confirmed = true;
  release_waiters(state, error_code{});
  recount();
  signal_ready();
}

void channel_subscriber::release_waiters(channel_state& state, error_code ec) {
  for (auto& waiter : state.waiters) asio::post(ex_, asio::append(std::move(waiter), ec));
  state.waiters.clear();
}

void channel_subscriber::handle_up() {
  std::vector<std::string_view> args{subscribe_};
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (!it->second.wanted) {
      it = channels_.erase(it);
      continue;
    }
    it->second.confirmed = false;
    it->second.outstanding = 1;
    args.push_back(it->first);
    // Sharded: one command per channel, since one command's channels must
    // share a slot.
    if (sharded_) {
      client_.send(args);
      args.resize(1);
    }
    ++it;
  }
  recount();
  synced_ = false;
  if (args.size() > 1) client_.send(args);
  signal_ready();
}

void channel_subscriber::handle_down() {
  for (auto& [name, state] : channels_) {
    state.confirmed = false;
    state.outstanding = 0;
    release_waiters(state, make_error_code(errc::unavailable));
  }
  synced_ = false;
  recount();
  if (on_down) on_down();
}

void channel_subscriber::signal_ready() {
  // Once per (re)connect, when the last resubscription is confirmed; not for
  // channels added later.
  if (synced_ || !client_.is_up() || unconfirmed_ != 0) return;
  synced_ = true;
  if (on_ready) on_ready();
}

void channel_subscriber::reconnect() { client_.reset_connection(); }

void channel_subscriber::recount() {
  unconfirmed_ = 0;
  for (const auto& [name, state] : channels_) unconfirmed_ += (state.wanted && !state.confirmed) ? 1 : 0;
}

}  // namespace switchboard::redis
