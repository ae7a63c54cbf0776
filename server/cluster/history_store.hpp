#pragma once
// Room history in Redis, typed (PROTOCOL.md, "History and recovery"). For
// each room that keeps history:
//
//   <prefix>history:<room>       a stream of the room's stored frames; each
//                                entry's id is its offset ("17-0")
//   <prefix>history-meta:<room>  a hash: epoch, offset (the last one given)
//
// A message is stored and published by one script, so it is never stored
// and not delivered, nor delivered and not stored, and its offset is the
// room's counter plus one whatever publishes beside it. The epoch is made
// anew (the stream dropped, the counter back to 0) whenever the script finds
// the hash missing, or the stream missing while the counter says it should
// hold something: the room's history was lost (expired, a broker without
// persistence restarted), so offsets start a new unbroken run. Both keys
// expire together, --history-ttl-seconds after the room's last message.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/pattern_set.hpp"
#include "common/config.hpp"
#include "common/net.hpp"
#include "common/protocol/frames.hpp"
#include "common/protocol/redis_keys.hpp"
#include "common/protocol/stream_position.hpp"
#include "common/redis/pool.hpp"
#include "server/cluster/bus.hpp"

namespace switchboard {

class history_store {
 public:
  // Stores go through the bus's gate; reads take a pooled connection.
  history_store(bus& b, const redis_keys& keys, const config& cfg);

  // Whether `room` keeps history (a personal room by its name, user:U).
  bool keeps(std::string_view room) const { return !rooms_.empty() && rooms_.matches(room); }

  // A message for a room that keeps history, as the publisher hands it over:
  // the frame without its closing brace, and where its envelope goes.
  struct stored_message {
    std::string room;     // whose history: the room, or user:U
    std::string channel;  // where it is published
    protocol::scope kind{};
    std::string target;   // the envelope's target: the room, or U
    std::string frame_head;
  };
  // The command that stores and publishes `m` inside a MULTI/EXEC with
  // others. Its reply is {offset, epoch}.
  std::vector<std::string> append_command(const stored_message& m);
  // The position an append_command's reply gives; nullopt when it is not one.
  static std::optional<protocol::stream_position> appended_at(const redisReply* reply);

  struct appended {
    error_code ec;
    protocol::stream_position at;
  };
  // Stores and publishes `m`: errc::unavailable whenever the bus would
  // refuse a PUBLISH, or Redis failed it.
  asio::awaitable<appended> append(const stored_message& m);

  // What a read found: the room's place now, and the stored frames asked for
  // (JSON text, oldest first).
  struct read_result {
    error_code ec;
    protocol::stream_position now;
    std::vector<std::string> frames;
    std::optional<protocol::recovery_outcome> outcome;  // recover() with a `since` only
  };
  // For a join: with `since`, every frame after it when that is still kept
  // in the same epoch (outcome recovered), else none; without, just the
  // place now.
  asio::awaitable<read_result> recover(const std::string& room, const std::optional<protocol::stream_position>& since);
  // For a history request: up to `limit` frames (0: as many as kept) after
  // `since` (of the room's epoch; of another, every kept frame is after it),
  // else the newest ones.
  asio::awaitable<read_result> page(const std::string& room, const std::optional<protocol::stream_position>& since,
                                    std::size_t limit);

  std::size_t size() const { return size_; }

 private:
  asio::awaitable<read_result> read(const std::string& room, std::string mode,
                                    const std::optional<protocol::stream_position>& since, std::size_t limit);
  // The script with `args` (its keys, then its arguments): `publishing`
  // through the bus's gate, else on a pooled connection.
  asio::awaitable<redis::connection::result> run(std::vector<std::string> args, bool publishing);
  std::vector<std::string> append_arguments(const stored_message& m);
  // A fresh epoch, used only if the script finds the room's history gone.
  std::string new_epoch();

  bus& bus_;
  const redis_keys& keys_;
  auth::pattern_set rooms_;
  std::size_t size_;
  std::string ttl_ms_;
  std::string script_sha_;
  std::mt19937_64 random_;
};

}  // namespace switchboard
