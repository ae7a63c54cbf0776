// switchboard-publish: messages to a cluster's clients from the command line
// or a pipe, written to Redis as bus envelopes (`--help` says how).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "common/emit/emitter.hpp"
#include "common/emit/error.hpp"
#include "common/protocol/client_id.hpp"
#include "scripts/publish/line_reader.hpp"
#include "scripts/publish/options.hpp"

namespace switchboard::publish {
namespace {

// As the HTTP API's array: a MULTI/EXEC of this many is one quick round trip.
constexpr std::size_t max_batch = 1000;

void complain(const std::string& what) { std::cerr << "switchboard-publish: " << what << '\n'; }

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Lines read and not yet published, with their line numbers for messages.
struct batch {
  std::vector<std::string> data;
  std::vector<std::size_t> lines;
};

class line_publisher {
 public:
  line_publisher(emit::emitter& out, const options& o) : out_(out), o_(o) {}

  // Publishes every line of standard input; the exit status.
  asio::awaitable<int> run() {
    line_reader in(STDIN_FILENO);
    while (auto line = in.next()) {
      if (!is_blank(*line)) {
        pending_.data.emplace_back(*line);
        pending_.lines.push_back(in.line_number());
      }
      // Before a read that may block, and when the batch is full.
      if (pending_.data.size() == max_batch || !in.ready()) {
        if (!co_await flush()) co_return 1;
      }
    }
    co_return co_await flush() ? 0 : 1;
  }

 private:
  // Publishes the batch; false (and said why) when it could not.
  asio::awaitable<bool> flush() {
    std::vector<emit::message> messages;
    messages.reserve(pending_.data.size());
    for (const auto& text : pending_.data) messages.push_back({o_.scope, o_.target, text});
    auto result = co_await out_.publish_all(messages);
    if (!result.error) {
      published_ += messages.size();
      pending_ = {};
      co_return true;
    }
    if (result.error.category() != emit::category()) co_return failed(result.error, messages.size());
    // Refused: the lines before it still go out, as --help promises.
    auto before = std::span<const emit::message>(messages).first(result.refused);
    if (auto again = co_await out_.publish_all(before); again.error) co_return failed(again.error, before.size());
    published_ += before.size();
    complain("line " + std::to_string(pending_.lines[result.refused]) + ": " + result.error.message() + "; the " +
             std::to_string(published_) + " messages before it were published");
    co_return false;
  }

  // Redis failed on the first `count` lines of the batch.
  bool failed(error_code ec, std::size_t count) {
    complain(o_.redis_name + ": " + ec.message() + ", publishing lines " +
             std::to_string(pending_.lines.front()) + " to " + std::to_string(pending_.lines[count - 1]) +
             "; the " + std::to_string(published_) + " messages before them were published");
    return false;
  }

  emit::emitter& out_;
  const options& o_;
  batch pending_;
  std::size_t published_ = 0;
};

asio::awaitable<int> run(emit::emitter& out, const options& o) {
  if (o.data) {
    // Checked before it connects: bad data is said to be bad, Redis or not.
    error_code ec = co_await out.publish({o.scope, o.target, *o.data});
    if (!ec) co_return 0;
    complain(ec.category() == emit::category() ? ec.message() : o.redis_name + ": " + ec.message());
    co_return 1;
  }
  // Before the first line: an unreachable Redis shows without any input.
  if (error_code ec = co_await out.connect()) {
    complain(o.redis_name + ": " + ec.message());
    co_return 1;
  }
  co_return co_await line_publisher(out, o).run();
}

}  // namespace
}  // namespace switchboard::publish

int main(int argc, char* argv[]) {
  using namespace switchboard;
  publish::options o;
  try {
    o = publish::parse_options(argc, argv, std::getenv("REDIS_URL"));
  } catch (const publish::options_error& e) {
    publish::complain(std::string(e.what()) + " (try --help)");
    return 2;
  }
  if (o.help) {
    std::cout << publish::usage();
    return 0;
  }
  if (o.scope == protocol::scope::direct && !protocol::worker_key_of(o.target))
    publish::complain("note: no worker hands out the id " + o.target + ", so nothing is sent");

  asio::io_context ioc{1};
  emit::emitter out(ioc.get_executor(), {.redis_url = o.redis_url, .channel_prefix = o.channel_prefix});
  int status = 1;
  asio::co_spawn(ioc, publish::run(out, o), [&](std::exception_ptr e, int result) {
    // The connection's read loop is the last work: once closed, run() returns.
    out.close();
    status = result;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      publish::complain(ex.what());
      status = 1;
    }
  });
  ioc.run();
  return status;
}
