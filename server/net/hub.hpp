#pragma once
// The worker's local registry: client id -> recipient, user id -> its
// local connections (its personal room here), and room membership, both
// directions (a room's local members, a client's rooms): the hub is their
// one owner. Delivery hands the same immutable frame to every local
// recipient and never re-enters the hub.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/intrusive/unordered_set.hpp>
#include <vector>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "server/cluster/delivery_sink.hpp"
#include "server/net/recipient.hpp"

namespace switchboard {

// Lets string-keyed maps be searched with a string_view, without a copy.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using room_map = std::unordered_map<std::string, std::vector<recipient*>, string_hash, std::equal_to<>>;

class hub final : public delivery_sink {
 public:
  explicit hub(metrics::worker_metrics& counters) : metrics_(counters) {}

  // Recipients register once their id is known and deregister when they
  // end, after leaving their rooms; the hub holds no ownership.
  void add(recipient& who);
  void remove(recipient& who);

  // Hands `frame` to the local recipients that `kind`/`target` name. Each
  // only queues it: the worker's turn_writer sends them.
  void deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame,
               std::uint64_t offset = 0) override;

  // Closes the local connections of the order's user, or the one with its id.
  void disconnect(const protocol::disconnect_order& order) override;

  // Membership. join() is true when `who` is the room's first local member,
  // leave() when it was the last; leaving a room one is not in does nothing.
  // `events`: `who` also gets the room's member events.
  bool join(const std::string& room, recipient& who, bool events = false);
  bool leave(const std::string& room, recipient& who);
  bool is_member(std::string_view room, const recipient& who) const;
  // The rooms `who` is in, in the order it joined them.
  const std::vector<std::string>& rooms_of(const recipient& who) const;
  // room -> local members, for presence (re-announced after a reconnect).
  const room_map& rooms() const { return rooms_; }

  // Recovery (room_service::join with since). While `who` is held in
  // `room` (a personal room by its name, user:U), the room's messages for
  // it are kept back in arrival order instead of sent. release() sends
  // those with an offset past `after`, and those with none, then ends the
  // hold; leaving the room or the hub ends it too. Held past `limit_bytes`,
  // `who` is closed as a slow consumer.
  void hold(std::string room, recipient& who, std::size_t limit_bytes);
  void release(std::string_view room, recipient& who, std::uint64_t after);
  bool is_held(std::string_view room, const recipient& who) const;

  // Starts a graceful close of every recipient (drain).
  void close_all(websocket::close_code code, std::string_view reason);

  std::size_t size() const { return clients_.size(); }

 private:
  struct client {
    recipient* who;
    std::vector<std::string> rooms;
  };
  struct held {
    std::string room;
    recipient* who;
    std::size_t limit_bytes;
    std::size_t bytes = 0;
    std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::string>>> frames;
  };

  // Sends `frame` to `who`, or keeps it back when `who` is held in the
  // room that `kind`/`target` names.
  void hand(recipient& who, protocol::scope kind, std::string_view target,
            const std::shared_ptr<const std::string>& frame, std::uint64_t offset);
  std::vector<held>::iterator find_hold(std::string_view room, const recipient& who);

  // Keyed by a view of the recipient's own id, which lives as long as the entry.
  std::unordered_map<std::string_view, client> clients_;
  // room -> the local members that asked for its member events.
  room_map watchers_;
  // user id -> the user's local connections; anonymous ones are not here.
  // Intrusive, keyed by each recipient's own user id: a connection with a
  // user costs its bucket here (8 bytes) and no allocation.
  struct user_of {
    using type = std::string_view;
    std::string_view operator()(const recipient& r) const { return r.user(); }
  };
  using user_index = boost::intrusive::unordered_multiset<
      recipient, boost::intrusive::key_of_value<user_of>, boost::intrusive::hash<string_hash>,
      boost::intrusive::equal<std::equal_to<std::string_view>>, boost::intrusive::store_hash<true>,
      boost::intrusive::power_2_buckets<true>>;
  // Grows with the index, so that it stays at one entry per bucket or less.
  std::vector<user_index::bucket_type> user_buckets_{64};
  user_index users_{user_index::bucket_traits(user_buckets_.data(), user_buckets_.size())};
  // A vector, not a set: delivery walks it per message, joins and leaves are rare.
  room_map rooms_;
  // Few at a time and each for a round trip to Redis: a vector.
  std::vector<held> holds_;
  metrics::worker_metrics& metrics_;
};

}  // namespace switchboard
