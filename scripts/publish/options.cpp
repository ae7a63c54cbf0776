#include "scripts/publish/options.hpp"

#include <boost/program_options.hpp>
#include <sstream>

#include "common/emit/bus_message.hpp"
#include "common/protocol/redis_keys.hpp"
#include "common/redis/cluster_seeds.hpp"
#include "common/redis/endpoint.hpp"

namespace switchboard::publish {
namespace po = boost::program_options;
namespace {

po::options_description flags() {
  // Wide enough that a URL form is not broken across lines.
  po::options_description desc("Options", 110, 60);
  desc.add_options()
      ("help,h", "print this help and exit")
      ("redis", po::value<std::string>()->value_name("URL"),
       "Redis of the cluster: redis://[[user]:password@]host[:port][/db], unix:///path[?db=N], or a "
       "Redis Cluster: cluster://[[user]:password@]host:port[,host:port...] (SPUBLISH to each channel's "
       "shard) (default: REDIS_URL, else redis://127.0.0.1:6379)")
      ("channel-prefix", po::value<std::string>()->value_name("P")->default_value("sb:"),
       "the cluster's --channel-prefix")
      ("room", po::value<std::string>()->value_name("R"), "to the members of room R (user:U: to user U)")
      ("user", po::value<std::string>()->value_name("U"), "to every connection of user U (a token's sub)")
      ("broadcast", po::bool_switch(), "to every connection of the cluster")
      ("to", po::value<std::string>()->value_name("ID"), "to the one connection with client id ID");
  return desc;
}

struct recipient_flag {
  const char* name;
  protocol::scope scope;
};
constexpr recipient_flag recipient_flags[] = {
    {"room", protocol::scope::room}, {"user", protocol::scope::user}, {"to", protocol::scope::direct}};

// The one recipient flag given, else options_error.
void read_recipient(const po::variables_map& vm, options& o) {
  int given = vm["broadcast"].as<bool>() ? 1 : 0;
  o.scope = protocol::scope::broadcast;
  const char* flag = "broadcast";
  for (const auto& f : recipient_flags) {
    if (!vm.count(f.name)) continue;
    ++given;
    o.scope = f.scope;
    o.target = vm[f.name].as<std::string>();
    flag = f.name;
  }
  if (given != 1) throw options_error("give exactly one of --room, --user, --broadcast, --to");
  // The emitter's own check, on a stand-in message: a bad recipient is a
  // usage error, said once, not an error of every line.
  auto probe = emit::prepare(redis_keys(o.channel_prefix), {o.scope, o.target, "null"});
  // Quoted as JSON: a refused name may hold control characters.
  if (probe.error)
    throw options_error("--" + std::string(flag) + " " + protocol::json_quote(o.target) + ": " + probe.error.message());
}

}  // namespace

std::string usage() {
  std::ostringstream out;
  out << "Usage: switchboard-publish (--room R | --user U | --broadcast | --to ID) [options] [DATA]\n\n"
         "Publishes messages to the clients of a Switchboard cluster by writing the bus envelope to\n"
         "its Redis (docs/protocol.md, \"Publishing without HTTP\"). Each client receives\n"
         "  {\"type\":\"message\",\"scope\":...,\"from\":\"server\",...,\"data\":DATA}\n\n"
         "DATA is one JSON value: a string needs its quotes ('\"hi\"'), a value that starts with -\n"
         "comes after --. Without DATA, messages are read from standard input, one JSON value per\n"
         "line (blank lines are skipped), and published in order, up to 1000 in one MULTI/EXEC round\n"
         "trip; what has been read is published before the next read waits, so a slow writer's\n"
         "lines go out as they come. On a Redis Cluster every message is an SPUBLISH to the primary\n"
         "that serves the channel's slot, in order (all of them go to one channel, so one shard).\n\n"
      << flags()
      << "\nExit status: 0 once Redis has taken every message; 1 when DATA or a line is not one JSON\n"
         "value (the lines before it are published), or Redis cannot be reached or fails; 2 on a\n"
         "bad command line.\n\n"
         "Unlike POST /api/publish, nothing waits for the cluster: Redis taking a message does not\n"
         "mean any client got it. No server acknowledges it, and no restart gate holds it back, so\n"
         "a message published while a worker resubscribes after a Redis restart misses that\n"
         "worker's clients.\n";
  return out.str();
}

options parse_options(int argc, const char* const argv[], const char* redis_url_env) {
  po::options_description visible = flags();
  po::options_description all;
  all.add(visible).add_options()("data", po::value<std::string>());
  po::positional_options_description positional;
  positional.add("data", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw options_error(e.what());
  }
  options o;
  if (vm.count("help")) {
    o.help = true;
    return o;
  }
  if (vm.count("redis")) o.redis_url = vm["redis"].as<std::string>();
  else if (redis_url_env != nullptr && *redis_url_env != '\0') o.redis_url = redis_url_env;
  // Not the URL itself in messages: it may hold a password.
  std::string why;
  if (o.redis_url.starts_with("cluster://")) {
    auto seeds = redis::parse_cluster_url(o.redis_url, &why);
    if (!seeds) throw options_error("--redis: " + why);
    o.redis_name = seeds->describe();
  } else {
    auto ep = redis::parse_endpoint(o.redis_url, &why);
    if (!ep) throw options_error("--redis: " + why);
    o.redis_name = ep->describe();
  }
  o.channel_prefix = vm["channel-prefix"].as<std::string>();
  read_recipient(vm, o);
  if (vm.count("data")) o.data = vm["data"].as<std::string>();
  return o;
}

}  // namespace switchboard::publish
