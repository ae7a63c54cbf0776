#pragma once
// The load tester's configuration: one aggregate, parsed once from the
// command line and passed by const reference (to every forked process too).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard::load {

enum class scenario_kind { fanout, direct, rooms, connect, churn };

std::string_view to_string(scenario_kind s);

struct options {
  scenario_kind scenario = scenario_kind::fanout;
  std::string url = "ws://127.0.0.1:8080/ws";
  // fanout: connections, all receiving; direct: connections, paired;
  // connect: connections held; churn: concurrent connect-ping-close loops.
  std::size_t clients = 1000;
  // fanout and rooms: how many connections send (in fanout they are among
  // the clients; in rooms they are extra connections in no room).
  std::size_t publishers = 10;
  std::size_t rooms = 100;
  std::size_t room_size = 10;
  // Total requests per second over all senders (churn: cycles per second);
  // 0 is closed loop: as fast as acks allow, `window` in flight per sender.
  double rate = 1000;
  std::size_t window = 16;
  double duration = 10;  // seconds measured (connect: seconds the connections are held)
  // connect: every connection sends a ping this long before the hold ends,
  // spread over the first half of it (10,000s at once would be a burst no
  // idle server sees), and the pongs are counted.
  double ping_lead = 2;
  double warmup = 2;     // seconds sent before measuring, excluded from stats
  double drain = 10;     // at most this long waiting for deliveries after sending stops
  int procs = 1;
  int source_addrs = 1;  // spread over 127.0.0.1 .. 127.0.0.<n>
  // Handshakes in flight per process: enough to keep a server busy, few
  // enough not to overflow its SYN backlog (Linux default 4096).
  std::size_t connect_concurrency = 200;
  double connect_timeout = 10;
  std::size_t payload = 0;  // padding bytes added to each message's data
  std::string plot_dir;     // empty: no plots

  // What each connection presents in its upgrade (Authorization: Bearer):
  // at most one of a fixed token, or tokens minted here with an HS256
  // secret or a PEM private key (RS256, ES256). All empty: no token.
  std::string token;
  std::string token_secret;
  std::string token_key_file;
  // Minted tokens expire this long after they are made: an hour outlasts
  // any run here, and a server closes a connection whose token expires.
  std::int64_t token_ttl = 3600;

  bool mints_tokens() const { return !token_secret.empty() || !token_key_file.empty(); }

  bool closed_loop() const { return rate == 0; }
  bool sends_messages() const {
    return scenario == scenario_kind::fanout || scenario == scenario_kind::direct || scenario == scenario_kind::rooms;
  }
};

// A bad flag; what() names the flag and says why.
class options_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `--help` was given; what() is the help text.
class help_requested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws options_error or help_requested.
options parse_options(int argc, const char* const argv[]);

}  // namespace switchboard::load
