#include "common/redis/sentinel_watch.hpp"

#include <array>

namespace switchboard::redis {
namespace {

constexpr std::string_view switch_channel = "+switch-master";

// The next space-separated word of `text`, taken off its front.
std::string_view next_word(std::string_view& text) {
  std::size_t space = text.find(' ');
  std::string_view word = text.substr(0, space);
  text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  return word;
}

}  // namespace

sentinel_watch::sentinel_watch(asio::any_io_executor ex, const sentinel_group& group, switch_handler on_switch)
    : master_name_(group.master_name), on_switch_(std::move(on_switch)) {
  for (const auto& sentinel : group.sentinels) {
    client_options options;
    options.where = fixed_locator(sentinel);
    options.name = "redis sentinel watch";
    auto listener = std::make_unique<client>(ex, std::move(options));
    client* self = listener.get();
    // A sentinel keeps no subscriptions across a reconnect: ask again each time.
    listener->on_up = [self] {
      std::array<std::string_view, 2> args{"SUBSCRIBE", switch_channel};
      self->send(args);
    };
    listener->on_push = [this](reply_ptr reply) { handle_push(std::move(reply)); };
    listeners_.push_back(std::move(listener));
  }
}

void sentinel_watch::start() {
  for (auto& listener : listeners_) listener->start();
}

void sentinel_watch::stop() {
  for (auto& listener : listeners_) listener->stop();
}

bool sentinel_watch::parse_switch(std::string_view payload, std::string_view master_name, std::string& from,
                                  std::string& to) {
  if (next_word(payload) != master_name) return false;
  std::array<std::string_view, 4> words;
  for (auto& word : words) {
    word = next_word(payload);
    if (word.empty()) return false;
  }
  if (!payload.empty()) return false;
  from = std::string(words[0]) + ":" + std::string(words[1]);
  to = std::string(words[2]) + ":" + std::string(words[3]);
  return true;
}

void sentinel_watch::handle_push(reply_ptr reply) {
  // ["message", "+switch-master", payload]; subscribe confirmations pass by.
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
  for (std::size_t i = 0; i < 3; ++i)
    if (reply->element[i]->type != REDIS_REPLY_STRING) return;
  if (text_of(*reply->element[0]) != "message" || text_of(*reply->element[1]) != switch_channel) return;
  std::string from, to;
  if (parse_switch(text_of(*reply->element[2]), master_name_, from, to)) on_switch_(from, to);
}

}  // namespace switchboard::redis
