#include "common/redis/subscriber.hpp"

#include "common/log.hpp"
#include "common/redis/error.hpp"

namespace switchboard::redis {

subscriber::subscriber(asio::any_io_executor ex, client_options options, message_handler on_message)
    : ex_(ex), client_(ex, std::move(options)), on_message_(std::move(on_message)) {
  client_.on_push = [this](reply_ptr reply) { handle_push(std::move(reply)); };
  client_.on_up = [this] { handle_up(); };
  client_.on_down = [this](error_code) { handle_down(); };
}

std::size_t subscriber::channels() const {
  std::size_t n = 0;
  for (const auto& [name, state] : channels_) n += state.wanted ? 1 : 0;
  return n;
}

asio::awaitable<error_code> subscriber::subscribe(std::string channel) {
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
    std::array<std::string_view, 2> args{"SUBSCRIBE", channel};
    client_.send(args);
    ++state.outstanding;
    recount();
  }
  auto [ec] = co_await asio::async_initiate<decltype(use_nothrow), void(error_code)>(
      [&state](auto handler) { state.waiters.push_back(std::move(handler)); }, use_nothrow);
  co_return ec;
}

void subscriber::unsubscribe(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || !it->second.wanted) return;
  it->second.wanted = false;
  it->second.confirmed = false;
  release_waiters(it->second, make_error_code(errc::closed));
  if (client_.is_up()) {
    std::array<std::string_view, 2> args{"UNSUBSCRIBE", channel};
    client_.send(args);
  } else {
    channels_.erase(it);
  }
  recount();
}

void subscriber::handle_push(reply_ptr reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  const redisReply& kind = *reply->element[0];
  const redisReply& channel = *reply->element[1];
  if (kind.type != REDIS_REPLY_STRING || channel.type != REDIS_REPLY_STRING) return;
  std::string_view k = text_of(kind);
  if (k == "message") {
    const redisReply& payload = *reply->element[2];
    if (payload.type == REDIS_REPLY_STRING) on_message_(text_of(channel), text_of(payload));
  } else if (k == "subscribe") {
    confirm(text_of(channel));
  } else if (k == "unsubscribe") {
    auto it = channels_.find(std::string(text_of(channel)));
    if (it != channels_.end() && !it->second.wanted && it->second.outstanding == 0) channels_.erase(it);
  }
}

void subscriber::confirm(std::string_view name) {
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

void subscriber::release_waiters(channel_state& state, error_code ec) {
  for (auto& waiter : state.waiters) asio::post(ex_, asio::append(std::move(waiter), ec));
  state.waiters.clear();
}

void subscriber::handle_up() {
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (!it->second.wanted) {
      it = channels_.erase(it);
      continue;
    }
    it->second.confirmed = false;
    it->second.outstanding = 1;
    args.push_back(it->first);
    ++it;
  }
  recount();
  synced_ = false;
  if (args.size() > 1) client_.send(args);
  signal_ready();
}

void subscriber::handle_down() {
  for (auto& [name, state] : channels_) {
    state.confirmed = false;
    state.outstanding = 0;
    release_waiters(state, make_error_code(errc::unavailable));
  }
  synced_ = false;
  recount();
  if (on_down) on_down();
}

void subscriber::signal_ready() {
  // Once per (re)connect, when the last resubscription is confirmed; not for
  // channels added later.
  if (synced_ || !client_.is_up() || unconfirmed_ != 0) return;
  synced_ = true;
  if (on_ready) on_ready();
}

void subscriber::reconnect() { client_.reset_connection(); }

void subscriber::recount() {
  unconfirmed_ = 0;
  for (const auto& [name, state] : channels_) unconfirmed_ += (state.wanted && !state.confirmed) ? 1 : 0;
}

}  // namespace switchboard::redis
