#pragma once
// A steady load of broadcasts (or room messages) through a broker failure,
// and its books: what
// each sender had acknowledged or refused, and what each listener received
// from each sender, in order. The Sentinel and the Redis Cluster failover
// tests check the same promise with it: no client closed, every request
// answered (ack or unavailable), every acknowledged broadcast delivered to
// every listener once, in order.

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_loop.hpp"
#include "tests/support/ws_client.hpp"

namespace switchboard::testing::failover_load {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// The load retries nothing, but 100 broadcasts/s per client is over the
// default request budget: these tests are about failover, not limits.
inline const std::vector<std::string> no_budget{"--client-rate", "0"};
// What the issue asks: delivery back within 5 s of the promotion.
inline constexpr auto recovery_bound = 5s;
// One broadcast per sender per tick: two senders make 200 broadcasts/s.
inline constexpr auto tick = 10ms;

inline long long ms_between(clock::time_point from, clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Broadcasts from some clients at a steady rate while every client listens,
// and keeps the books: what each sender had acknowledged or refused, and
// what each client received from each sender, in order.
class broadcast_load {
 public:
  // `request`: what each sender sends, to which a ref and data are added;
  // a broadcast unless told otherwise ({"type":"room","room":R}).
  broadcast_load(test_loop& loop, std::vector<ws_client*> senders, std::vector<ws_client*> listeners,
                 json request = {{"type", "broadcast"}})
      : loop_(loop), listeners_(std::move(listeners)), request_(std::move(request)) {
    for (ws_client* sender : senders) senders_.push_back({sender});
  }

  // Runs the load until `done(now)` holds or `limit` passes, calling
  // `each_tick` once per tick; false at the limit.
  bool run_until(const std::function<bool(clock::time_point)>& done, std::chrono::milliseconds limit,
                 const std::function<void()>& each_tick = [] {}) {
    const auto deadline = clock::now() + limit;
    while (clock::now() < deadline) {
      for (auto& sender : senders_) {
        int seq = sender.sent++;
        sender.sent_at.push_back(clock::now());
        json frame = request_;
        frame["ref"] = seq;
        frame["data"] = {{"from", sender.client->id()}, {"seq", seq}};
        sender.client->send_json(frame);
      }
      loop_.run_for(tick);
      take_frames();
      each_tick();
      if (done(clock::now())) return true;
    }
    return false;
  }

  // A second of load, then `fail`, then load until messages have been
  // acknowledged for 2 s after `back` (polled every 10 ticks) first held:
  // checks the books, prints the figures, and expects the first ack within
  // recovery_bound of `back`. `what` names the fault in the figures.
  void through_fault(const std::function<void()>& fail, const std::function<bool()>& back, const std::string& what) {
    run_until([](clock::time_point) { return false; }, 1s);
    const auto failed_at = clock::now();
    fail();
    std::optional<clock::time_point> back_at;
    int polls = 0;
    auto watch = [&] {
      if (!back_at && ++polls % 10 == 0 && back()) back_at = clock::now();
    };
    auto acked_again_for_a_while = [&](clock::time_point now) {
      if (!back_at) return false;
      auto first = first_ack_of_one_sent_after(*back_at);
      return first && now - *first > 2s;
    };
    bool recovered = run_until(acked_again_for_a_while, 30s, watch);
    drain();
    check();
    ASSERT_TRUE(back_at) << what << ": the broker was not back within 30 s";
    ASSERT_TRUE(recovered) << what << ": nothing was acknowledged after the broker was back";
    auto first = first_ack_of_one_sent_after(*back_at);
    std::cout << "[ failover ] " << what << ": back " << ms_between(failed_at, *back_at)
              << " ms after the fault began; first acknowledged message " << ms_between(*back_at, *first)
              << " ms after that\n";
    EXPECT_LT(*first - *back_at, recovery_bound);
  }

  // Stops sending and waits until every request is answered, then a moment
  // more for the last deliveries.
  void drain() {
    auto answered_all = [this] {
      take_frames();
      for (const auto& sender : senders_)
        if (sender.answered.size() != static_cast<std::size_t>(sender.sent)) return false;
      return true;
    };
    EXPECT_TRUE(loop_.run_until(answered_all, 15s)) << "some requests were never answered";
    loop_.run_for(500ms);
    take_frames();
  }

  // The first acknowledgement of a broadcast sent after `since`.
  std::optional<clock::time_point> first_ack_of_one_sent_after(clock::time_point since) const {
    std::optional<clock::time_point> first;
    for (const auto& sender : senders_)
      for (const auto& [seq, at] : sender.acked)
        if (sender.sent_at[static_cast<std::size_t>(seq)] > since && (!first || at < *first)) first = at;
    return first;
  }

  // Every client open, every request answered (ack or unavailable), every
  // acknowledged broadcast delivered to every listener once, in order.
  void check() const {
    for (ws_client* client : listeners_)
      EXPECT_TRUE(client->is_open()) << client->describe() << " was closed: " << client->end_reason();
    for (const auto& sender : senders_) {
      EXPECT_EQ(sender.answered.size(), static_cast<std::size_t>(sender.sent)) << sender.client->describe();
      std::cout << "[ failover ] " << sender.client->describe() << ": " << sender.sent << " sent, "
                << sender.acked.size() << " acked, " << sender.refused << " unavailable\n";
      for (ws_client* listener : listeners_) {
        auto it = received_.find(listener);
        std::vector<int> none;
        const auto& got = it == received_.end() ? none : it->second.at_or(sender.client->id());
        std::set<int> delivered(got.begin(), got.end());
        int missing = 0;
        for (const auto& [seq, at] : sender.acked) missing += delivered.contains(seq) ? 0 : 1;
        EXPECT_EQ(missing, 0) << listener->describe() << " missed " << missing << " acknowledged broadcasts of "
                              << sender.client->describe();
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()) && delivered.size() == got.size())
            << listener->describe() << " got the broadcasts of " << sender.client->describe()
            << " out of order or twice";
      }
    }
  }

 private:
  struct sender_book {
    ws_client* client;
    int sent = 0;
    std::vector<clock::time_point> sent_at{};
    std::map<int, clock::time_point> acked{};
    std::set<int> answered{};
    int refused = 0;
  };
  // One listener's deliveries: sender id -> sequence numbers as they came.
  struct deliveries : std::map<std::string, std::vector<int>> {
    const std::vector<int>& at_or(const std::string& id) const {
      static const std::vector<int> none;
      auto it = find(id);
      return it == end() ? none : it->second;
    }
  };

  void take_frames() {
    for (ws_client* client : listeners_) {
      for (const json& frame : client->take_all()) {
        std::string type = frame.value("type", "");
        if (type == "message") {
          received_[client][frame["data"].value("from", "")].push_back(frame["data"].value("seq", -1));
          continue;
        }
        sender_book* book = book_of(client);
        if (!book || !frame.contains("ref")) {
          ADD_FAILURE() << client->describe() << " got " << frame.dump();
          continue;
        }
        int seq = frame["ref"].get<int>();
        book->answered.insert(seq);
        if (type == "ack") {
          book->acked.emplace(seq, clock::now());
        } else {
          EXPECT_EQ(frame.value("code", ""), "unavailable") << frame.dump();
          ++book->refused;
        }
      }
    }
  }

  sender_book* book_of(ws_client* client) {
    for (auto& sender : senders_)
      if (sender.client == client) return &sender;
    return nullptr;
  }

  test_loop& loop_;
  std::vector<sender_book> senders_;
  std::vector<ws_client*> listeners_;
  std::map<ws_client*, deliveries> received_;
  json request_;
};

}  // namespace switchboard::testing::failover_load
