#include "scripts/loadtest/options.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <sstream>

namespace switchboard::load {
namespace po = boost::program_options;
namespace {

scenario_kind parse_scenario(const std::string& name) {
  for (auto s : {scenario_kind::fanout, scenario_kind::direct, scenario_kind::rooms, scenario_kind::connect,
                 scenario_kind::churn}) {
    if (name == to_string(s)) return s;
  }
  throw options_error("scenario: '" + name + "' is not one of fanout, direct, rooms, connect, churn");
}

template <typename T>
T in_range(const po::variables_map& vm, const char* name, T min, T max) {
  T value = vm[name].as<T>();
  if (!(value >= min && value <= max)) {
    std::ostringstream why;
    why << "--" << name << ": must be between " << min << " and " << max;
    throw options_error(why.str());
  }
  return value;
}

// --token, --token-secret, --token-key, --token-ttl: one source of tokens
// at most. The key file is read later (make_token_source), not here.
void read_token_flags(const po::variables_map& vm, options& o) {
  auto text = [&](const char* name, std::string& into) {
    if (!vm.count(name)) return;
    into = vm[name].as<std::string>();
    if (into.empty()) throw options_error(std::string("--") + name + ": needs a value");
  };
  text("token", o.token);
  text("token-secret", o.token_secret);
  text("token-key", o.token_key_file);
  if (!o.token.empty() && o.mints_tokens())
    throw options_error(std::string("--token: a fixed token and minted ones (") +
                        (o.token_secret.empty() ? "--token-key" : "--token-secret") + ") exclude each other");
  if (!o.token_secret.empty() && !o.token_key_file.empty())
    throw options_error("--token-secret and --token-key exclude each other: tokens are signed with one key");
  // A header value ends at CR or LF, and a JWT is base64url and dots.
  for (unsigned char c : o.token) {
    if (c <= ' ' || c >= 0x7f) throw options_error("--token: only printable ASCII without spaces, as in a JWT");
  }
  if (!vm["token-ttl"].defaulted() && !o.mints_tokens())
    throw options_error("--token-ttl: only for minted tokens (--token-secret or --token-key)");
  o.token_ttl = in_range<std::int64_t>(vm, "token-ttl", 1, 10LL * 365 * 86400);
}

}  // namespace

std::string_view to_string(scenario_kind s) {
  switch (s) {
    case scenario_kind::fanout: return "fanout";
    case scenario_kind::direct: return "direct";
    case scenario_kind::rooms: return "rooms";
    case scenario_kind::connect: return "connect";
    case scenario_kind::churn: return "churn";
  }
  return "unknown";
}

options parse_options(int argc, const char* const argv[]) {
  options o;
  po::options_description desc(
      "Usage: switchboard-load [SCENARIO] [options]\n\n"
      "Scenarios (positional, or --scenario):\n"
      "  fanout   --clients connections; --publishers of them send broadcast; everyone receives all\n"
      "  direct   --clients/2 pairs, partners on different workers where possible; one sends per pair\n"
      "  rooms    --rooms rooms of --room-size members (joined with ack); --publishers extra\n"
      "           connections send room messages round-robin; only members may receive\n"
      "  connect  open --clients connections as fast as --connect-concurrency allows, hold them\n"
      "           idle for --duration s, ping each --ping-lead s before the end; reports\n"
      "           handshakes/s, failures and pings answered\n"
      "  churn    --clients loops of connect, ping/pong, close, for --warmup + --duration s\n\n"
      "Tokens (--token, or --token-secret / --token-key, not both): a minted token has sub\n"
      "load-<process>-<n>, distinct per connection, exp now + --token-ttl, and grants all the\n"
      "scenarios use: rooms [\"*\"], publish [\"*\"], broadcast true. Minting is done before\n"
      "the connections open, outside handshake times and rates; churn mints one token per loop\n"
      "before the run and its cycles reuse it (sub load-<process>-<loop>), minting anew once half\n"
      "the ttl has passed.\n\n"
      "Progress every second on stderr, a summary on stderr, one JSON line on stdout.\n\nOptions",
      100);
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("scenario", po::value<std::string>()->default_value("fanout"), "fanout, direct, rooms, connect or churn")
    ("url", po::value<std::string>()->default_value(o.url), "server WebSocket URL: ws://host[:port][/path][?query]")
    ("clients,c", po::value<std::size_t>(), "connections (default 1000; churn: concurrent loops, default 20)")
    ("publishers,P", po::value<std::size_t>()->default_value(o.publishers), "senders (fanout, rooms)")
    ("rooms", po::value<std::size_t>()->default_value(o.rooms), "rooms (rooms scenario)")
    ("room-size", po::value<std::size_t>()->default_value(o.room_size), "members per room (rooms scenario)")
    ("rate,r", po::value<double>(),
       "requests/s over all senders, open loop: latency counts from the scheduled send time "
       "(churn: cycles/s); 0 = closed loop (default 1000; churn: 0)")
    ("closed", po::bool_switch(), "closed loop, same as --rate 0")
    ("window,w", po::value<std::size_t>()->default_value(o.window), "closed loop: unacknowledged requests per sender")
    ("duration,d", po::value<double>()->default_value(o.duration),
       "seconds measured (connect: seconds the connections are held idle)")
    ("ping-lead", po::value<double>()->default_value(o.ping_lead),
       "connect: every connection pings this many seconds before the hold ends, spread over the "
       "first half of them; 0: no pings")
    ("warmup", po::value<double>()->default_value(o.warmup), "seconds of load before measuring, not counted")
    ("drain", po::value<double>()->default_value(o.drain),
       "at most this many seconds waiting for outstanding deliveries after sending stops")
    ("procs,p", po::value<int>()->default_value(o.procs), "load processes; connections are shared among them")
    ("source-addrs", po::value<int>()->default_value(o.source_addrs),
       "bind connections to 127.0.0.1 .. 127.0.0.N (loopback targets only): ~28k ports each")
    ("connect-concurrency", po::value<std::size_t>()->default_value(o.connect_concurrency),
       "handshakes in flight per process")
    ("connect-timeout", po::value<double>()->default_value(o.connect_timeout),
       "seconds for TCP connect + upgrade + welcome")
    ("payload", po::value<std::size_t>()->default_value(o.payload), "padding bytes added to each message's data")
    ("plot", po::value<std::string>(), "write per-second CSV and PNG charts (needs gnuplot) to this directory")
    ("token", po::value<std::string>(),
       "every connection sends this JWT as 'Authorization: Bearer T' in its upgrade "
       "(a token in --url's ?token= works as well)")
    ("token-secret", po::value<std::string>(),
       "mint an HS256 JWT per connection with this secret (32 bytes or more), as for a server "
       "started with --auth-secret")
    ("token-key", po::value<std::string>(),
       "mint a JWT per connection with the PEM private key in this file: RSA (2048 bits or more) signs "
       "RS256, EC P-256 signs ES256 (the server has the public half, --auth-public-key)")
    ("token-ttl", po::value<std::int64_t>()->default_value(o.token_ttl),
       "seconds a minted token is valid (its exp is now + this)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("scenario", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw options_error(e.what());
  }
  if (vm.count("help")) {
    std::ostringstream text;
    text << desc << "\nExample: switchboard-load fanout --url ws://127.0.0.1:8080/ws -c 1000 -P 10 -r 40\n";
    throw help_requested(text.str());
  }

  o.scenario = parse_scenario(vm["scenario"].as<std::string>());
  o.url = vm["url"].as<std::string>();
  const bool churn = o.scenario == scenario_kind::churn;
  o.clients = vm.count("clients") ? in_range<std::size_t>(vm, "clients", 1, 10'000'000) : (churn ? 20 : 1000);
  o.publishers = in_range<std::size_t>(vm, "publishers", 1, 1'000'000);
  o.rooms = in_range<std::size_t>(vm, "rooms", 1, 1'000'000);
  o.room_size = in_range<std::size_t>(vm, "room-size", 1, 1'000'000);
  o.rate = vm.count("rate") ? in_range<double>(vm, "rate", 0, 1e9) : (churn ? 0 : 1000);
  if (vm["closed"].as<bool>()) {
    if (vm.count("rate") && o.rate != 0) throw options_error("--closed: conflicts with a non-zero --rate");
    o.rate = 0;
  }
  o.window = in_range<std::size_t>(vm, "window", 1, 100'000);
  o.duration = in_range<double>(vm, "duration", 0.1, 86400);
  o.warmup = in_range<double>(vm, "warmup", 0, 86400);
  o.ping_lead = in_range<double>(vm, "ping-lead", 0, 86400);
  if (!vm["ping-lead"].defaulted() && o.scenario != scenario_kind::connect)
    throw options_error("--ping-lead: only for the connect scenario");
  if (o.scenario == scenario_kind::connect && o.ping_lead >= o.duration) {
    if (!vm["ping-lead"].defaulted())
      throw options_error("--ping-lead: must be shorter than --duration, the hold it ends");
    o.ping_lead = o.duration / 2;  // the default leaves half of a short hold for the pings
  }
  o.drain = in_range<double>(vm, "drain", 0, 3600);
  o.procs = in_range<int>(vm, "procs", 1, 256);
  o.source_addrs = in_range<int>(vm, "source-addrs", 1, 254);
  o.connect_concurrency = in_range<std::size_t>(vm, "connect-concurrency", 1, 100'000);
  o.connect_timeout = in_range<double>(vm, "connect-timeout", 0.1, 600);
  o.payload = in_range<std::size_t>(vm, "payload", 0, 1'000'000);
  if (vm.count("plot")) {
    o.plot_dir = vm["plot"].as<std::string>();
    if (o.plot_dir.empty()) throw options_error("--plot: needs a directory");
  }

  read_token_flags(vm, o);

  if (o.scenario == scenario_kind::fanout && o.publishers > o.clients)
    throw options_error("--publishers: fanout publishers are among the clients, so at most --clients (" +
                        std::to_string(o.clients) + ")");
  if (o.scenario == scenario_kind::direct && o.clients < 2)
    throw options_error("--clients: direct needs at least 2 (one pair)");
  if (o.scenario == scenario_kind::connect) o.warmup = 0;  // nothing to warm up: the handshakes are the load
  return o;
}

}  // namespace switchboard::load
