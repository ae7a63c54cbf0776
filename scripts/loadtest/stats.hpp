#pragma once
// What one load process counts, and how the counts of several processes are
// merged: each child sends its stats to the parent as one line of JSON
// (encode), the parent decodes and adds them up.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "scripts/loadtest/clock.hpp"
#include "scripts/loadtest/histogram.hpp"

namespace switchboard::load {

// Plain counters; every one is summed when merging.
struct counters {
  std::uint64_t attempts = 0;         // connections tried
  std::uint64_t opened = 0;           // handshakes completed (welcome received)
  std::uint64_t connect_failed = 0;
  std::uint64_t lost = 0;             // open connections the server or network ended
  std::uint64_t sent = 0;             // requests sent (messages; pings in churn and connect)
  std::uint64_t acked = 0;            // answered by ack (pong in churn and connect)
  std::uint64_t rejected = 0;         // answered by error
  std::uint64_t errors = 0;           // error frames, with or without ref
  std::uint64_t delivered = 0;        // deliveries this connection was meant to get
  std::uint64_t unexpected = 0;       // deliveries it was not meant to get, or not ours
  std::uint64_t out_of_order = 0;     // a sequence number not above the last from that sender
  // The measured window (after warmup): counted by scheduled send time.
  std::uint64_t window_sent = 0;
  std::uint64_t window_acked = 0;
  std::uint64_t window_delivered = 0;
  std::uint64_t expected = 0;         // deliveries owed for window messages the server acked
  // Deliveries that arrived during the window, whenever sent: their rate is
  // the throughput (a backlogged server delivers window messages later).
  std::uint64_t window_arrived = 0;
  std::uint64_t joined = 0;            // rooms: members in their room
  // direct: pairs formed, and how many of them span two workers.
  std::uint64_t pairs = 0;
  std::uint64_t cross_worker_pairs = 0;
};

struct counter_field {
  const char* name;
  std::uint64_t counters::*member;
};

inline constexpr counter_field counter_fields[] = {
    {"attempts", &counters::attempts},       {"opened", &counters::opened},
    {"connect_failed", &counters::connect_failed}, {"lost", &counters::lost},
    {"sent", &counters::sent},               {"acked", &counters::acked},
    {"rejected", &counters::rejected},       {"errors", &counters::errors},
    {"delivered", &counters::delivered},     {"unexpected", &counters::unexpected},
    {"out_of_order", &counters::out_of_order}, {"window_sent", &counters::window_sent},
    {"window_acked", &counters::window_acked}, {"window_delivered", &counters::window_delivered},
    {"expected", &counters::expected},       {"window_arrived", &counters::window_arrived},
    {"joined", &counters::joined},
    {"pairs", &counters::pairs},
    {"cross_worker_pairs", &counters::cross_worker_pairs},
};

void add(counters& into, const counters& from);

// Counts by name; std::less<> so a string_view finds its entry without allocating.
using tally = std::map<std::string, std::uint64_t, std::less<>>;

// Adds one to `key`, keeping only [A-Za-z0-9_.-] so that a key is one plain
// word in the report and on the control line.
void bump(tally& t, std::string_view key);

struct stats {
  counters c;
  tally errors;        // error frames by code
  tally failures;      // failed connection attempts by stage.reason
  std::map<int, std::uint64_t> close_codes;  // connections ended by the peer; 1006: no close frame
  histogram latency;   // deliveries (handshakes in connect, cycles in churn), window only
  // Span of the connect phase: first attempt to last completed handshake.
  nanos connect_begin = 0;
  nanos connect_end = 0;
  nanos cpu = 0;       // user + system time of the process

  void merge(const stats& other);
};

// One line of compact JSON (no newline, no space outside strings), and back.
// A decode gives nullopt for anything encode did not write: not JSON, cut
// short, a field missing or not a whole number in range, buckets that do not
// add up to the count. `why`, when given, then says what was wrong.
std::string encode(const counters& c);
std::string encode(const histogram& h);
std::string encode(const stats& s);
std::optional<counters> decode_counters(std::string_view text, std::string* why = nullptr);
std::optional<histogram> decode_histogram(std::string_view text, std::string* why = nullptr);
std::optional<stats> decode_stats(std::string_view text, std::string* why = nullptr);

}  // namespace switchboard::load
