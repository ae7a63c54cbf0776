#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include <boost/url/parse.hpp>

namespace switchboard::testing {

struct ws_client::session {
  explicit session(asio::io_context& ioc) : ws(ioc), resume(ioc) {}

  struct outgoing {
    std::string bytes;
    bool binary = false;
    std::size_t fragment = 0;  // sent as frames of this many bytes; 0: one frame
  };

  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buffer;
  asio::steady_timer resume;  // the read loop parks here while paused
  std::deque<json> inbox;
  std::deque<outgoing> outbox;
  bool writing = false;       // invariant: at most one async_write in flight, the write loop's
  bool paused = false;
  bool read_loop_started = false;
  bool connected = false;     // the welcome has arrived
  bool ended = false;         // the connection is over for us: no more frames will come
  bool discarded = false;     // the ws_client is gone: coroutines just wind down
  std::string end_reason;
  std::string id;
  std::string node;
  int worker = -1;
  std::string user;  // the welcome's `user`; empty when it has none
  std::uint16_t local_port = 0;
  int close_code = 0;
  std::string close_reason;
};

namespace {

using session_ptr = std::shared_ptr<ws_client::session>;

// Frames the server should never send still reach the test, marked, so that
// a check on their type fails with the text in the message.
json parse_frame(bool text, const beast::flat_buffer& buffer) {
  std::string raw = beast::buffers_to_string(buffer.cdata());
  if (!text) return json{{"type", "<binary frame>"}, {"bytes", raw.size()}};
  json frame = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (frame.is_discarded() || !frame.is_object()) return json{{"type", "<not a JSON object>"}, {"text", raw}};
  return frame;
}

void end_session(ws_client::session& s, const error_code& ec, std::string_view during) {
  if (s.ended) return;
  s.ended = true;
  s.end_reason = std::string(during) + ": " + ec.message();
  // The reason is known whenever the server's close frame was read, whatever
  // the error the read finally returned.
  const auto& reason = s.ws.reason();
  if (reason.code != websocket::close_code::none) {
    s.close_code = reason.code;
    s.close_reason = std::string(reason.reason.data(), reason.reason.size());
  }
}

asio::awaitable<void> read_loop(session_ptr s) {
  s->read_loop_started = true;
  while (!s->discarded && !s->ended) {
    if (s->paused) {
      s->resume.expires_at(asio::steady_timer::time_point::max());
      co_await s->resume.async_wait(use_nothrow);
      continue;
    }
    auto [ec, n] = co_await s->ws.async_read(s->buffer, use_nothrow);
    if (ec) {
      end_session(*s, ec, "read");
      break;
    }
    s->inbox.push_back(parse_frame(s->ws.got_text(), s->buffer));
    s->buffer.consume(s->buffer.size());
  }
}

// Started with s->writing already set by its spawner: co_spawn does not run
// it at once, and a second send before it starts must not spawn another.
asio::awaitable<void> write_loop(session_ptr s) {
  while (!s->outbox.empty() && !s->discarded) {
    // References into a deque survive push_back, so `front` stays valid
    // while send_text() queues more.
    auto& front = s->outbox.front();
    s->ws.binary(front.binary);
    error_code ec;
    if (front.fragment == 0) {
      std::tie(ec, std::ignore) = co_await s->ws.async_write(asio::buffer(front.bytes), use_nothrow);
    } else {
      std::string_view rest = front.bytes;
      do {
        auto piece = rest.substr(0, front.fragment);
        rest.remove_prefix(piece.size());
        std::tie(ec, std::ignore) =
            co_await s->ws.async_write_some(rest.empty(), asio::buffer(piece.data(), piece.size()), use_nothrow);
      } while (!ec && !rest.empty());
    }
    if (ec) {
      s->outbox.clear();
      // A write fails when the server has hung up; the read loop says why.
      break;
    }
    s->outbox.pop_front();
  }
  s->writing = false;
}

asio::awaitable<void> connect_op(session_ptr s, tcp::endpoint where, std::string host, std::string target,
                                 int receive_buffer) {
  auto& socket = s->ws.next_layer();
  error_code ec;
  socket.open(tcp::v4(), ec);
  if (!ec && receive_buffer > 0) socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer), ec);
  if (ec) {
    end_session(*s, ec, "socket");
    co_return;
  }
  std::tie(ec) = co_await socket.async_connect(where, use_nothrow);
  if (ec) {
    end_session(*s, ec, "connect");
    co_return;
  }
  s->local_port = socket.local_endpoint(ec).port();
  s->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  std::tie(ec) = co_await s->ws.async_handshake(host, target, use_nothrow);
  if (ec) {
    end_session(*s, ec, "handshake");
    co_return;
  }
  std::size_t n = 0;
  std::tie(ec, n) = co_await s->ws.async_read(s->buffer, use_nothrow);
  if (ec) {
    end_session(*s, ec, "reading the welcome");
    co_return;
  }
  json welcome = parse_frame(s->ws.got_text(), s->buffer);
  s->buffer.consume(s->buffer.size());
  if (welcome.value("type", "") != "welcome" || !welcome["id"].is_string() || !welcome["node"].is_string() ||
      !welcome["worker"].is_number_integer()) {
    s->ended = true;
    s->end_reason = "the first frame is not a well-formed welcome: " + welcome.dump();
    co_return;
  }
  s->id = welcome["id"].get<std::string>();
  s->node = welcome["node"].get<std::string>();
  s->worker = welcome["worker"].get<int>();
  if (welcome.contains("user")) s->user = welcome["user"].is_string() ? welcome["user"].get<std::string>() : "(not a string)";
  s->connected = true;
  if (!s->paused) asio::co_spawn(s->ws.get_executor(), read_loop(s), asio::detached);
}

}  // namespace

ws_client::ws_client(test_loop& loop) : loop_(&loop), session_(std::make_shared<session>(loop.context())) {}

ws_client::~ws_client() {
  if (!session_) return;
  session_->discarded = true;
  error_code ignored;
  beast::get_lowest_layer(session_->ws).close(ignored);
  session_->resume.cancel();
}

ws_client::ws_client(ws_client&&) noexcept = default;

ws_client& ws_client::operator=(ws_client&& other) noexcept {
  if (this != &other) {
    ws_client gone(std::move(*this));
    loop_ = other.loop_;
    session_ = std::move(other.session_);
  }
  return *this;
}

void ws_client::connect(const std::string& url, connect_options options, std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "ws" || !parsed->has_port())
    fail("connect: '" + url + "' is not ws://<ip>:<port>/<path>");
  error_code ec;
  auto address = asio::ip::make_address(std::string(parsed->host()), ec);
  if (ec) fail("connect: '" + url + "' does not name an IP address");
  std::string target(parsed->encoded_resource());
  if (target.empty()) target = "/";
  std::string host = std::string(parsed->host()) + ":" + std::to_string(parsed->port_number());

  session_->paused = options.paused;
  asio::co_spawn(loop_->context(),
                 connect_op(session_, tcp::endpoint(address, parsed->port_number()), host, target,
                            options.receive_buffer),
                 asio::detached);
  auto& s = *session_;
  if (!loop_->run_until([&s] { return s.connected || s.ended; }, timeout))
    fail("connect to " + url + ": no welcome within " + std::to_string(timeout.count()) + " ms");
  if (!s.connected) fail("connect to " + url + ": " + s.end_reason);
}

std::uint16_t ws_client::local_port() const { return session_->local_port; }

const std::string& ws_client::id() const { return session_->id; }
const std::string& ws_client::node() const { return session_->node; }
int ws_client::worker() const { return session_->worker; }
const std::string& ws_client::user() const { return session_->user; }

std::string ws_client::worker_key() const {
  const auto& id = session_->id;
  return id.substr(0, id.find('.'));
}

void ws_client::send_text(std::string text) { queue(std::move(text), false, 0); }

void ws_client::send_fragmented(std::string text, std::size_t fragment) {
  queue(std::move(text), false, std::max<std::size_t>(fragment, 1));
}

void ws_client::send_binary(std::string bytes) { queue(std::move(bytes), true, 0); }

void ws_client::queue(std::string bytes, bool binary, std::size_t fragment) {
  session_->outbox.push_back({std::move(bytes), binary, fragment});
  if (!session_->writing) {
    session_->writing = true;
    asio::co_spawn(loop_->context(), write_loop(session_), asio::detached);
  }
}

json ws_client::next(std::chrono::milliseconds timeout) {
  auto& s = *session_;
  loop_->run_until([&s] { return !s.inbox.empty() || s.ended; }, timeout);
  if (s.inbox.empty()) {
    if (s.ended) fail("expected a frame, but the connection ended (" + end_reason() + ")");
    fail("no frame within " + std::to_string(timeout.count()) + " ms" + (s.paused ? " (reading is paused)" : ""));
  }
  json frame = std::move(s.inbox.front());
  s.inbox.pop_front();
  return frame;
}

json ws_client::next_of_type(std::string_view type, std::chrono::milliseconds timeout) {
  return take_first([type](const json& frame) { return frame.value("type", "") == type; },
                    "a '" + std::string(type) + "' frame", timeout);
}

namespace {
bool is_answer(const json& frame) { return frame.value("type", "") != "message"; }
}  // namespace

json ws_client::next_answer(std::chrono::milliseconds timeout) { return take_first(is_answer, "an answer", timeout); }

std::optional<json> ws_client::next_answer_unless_closed(std::chrono::milliseconds timeout) {
  auto& s = *session_;
  const auto answered = [&s] { return std::any_of(s.inbox.begin(), s.inbox.end(), is_answer); };
  loop_->run_until([&] { return s.ended || answered(); }, timeout);
  if (s.ended && !answered()) return std::nullopt;
  return next_answer(std::chrono::milliseconds(0));
}

json ws_client::take_first(const std::function<bool(const json&)>& match, std::string_view what,
                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& s = *session_;
  for (;;) {
    for (auto it = s.inbox.begin(); it != s.inbox.end(); ++it) {
      if (!match(*it)) continue;
      json frame = std::move(*it);
      s.inbox.erase(it);
      return frame;
    }
    const std::size_t seen = s.inbox.size();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!loop_->run_until([&s, seen] { return s.inbox.size() > seen || s.ended; }, left) || s.inbox.size() == seen) {
      std::string message = "expected " + std::string(what) + " (" + std::to_string(seen) + " other frames queued";
      if (seen > 0) message += ", the first " + s.inbox.front().dump().substr(0, 200);
      message += "), but ";
      if (s.ended) fail(message + "the connection ended (" + end_reason() + ")");
      fail(message + "none came within " + std::to_string(timeout.count()) + " ms" +
           (s.paused ? " (reading is paused)" : ""));
    }
  }
}

std::deque<json> ws_client::take_all() { return std::exchange(session_->inbox, {}); }

void ws_client::pause_reading() { session_->paused = true; }

void ws_client::resume_reading() {
  session_->paused = false;
  if (!session_->connected || session_->ended) return;
  if (session_->read_loop_started) {
    session_->resume.cancel();
  } else {
    asio::co_spawn(loop_->context(), read_loop(session_), asio::detached);
  }
}

bool ws_client::is_open() const { return session_->connected && !session_->ended; }

bool ws_client::wait_closed(std::chrono::milliseconds timeout) {
  auto& s = *session_;
  return loop_->run_until([&s] { return s.ended; }, timeout);
}

int ws_client::close_code() const { return session_->close_code; }
std::string ws_client::close_reason() const { return session_->close_reason; }

std::string ws_client::end_reason() const {
  const auto& s = *session_;
  if (!s.ended) return "still open";
  std::string out = s.end_reason;
  if (s.close_code != 0) out += ", close code " + std::to_string(s.close_code) + " '" + s.close_reason + "'";
  return out;
}

std::string ws_client::describe() const {
  if (!session_->connected) return "client (not connected)";
  return "client " + session_->id + " (worker " + std::to_string(session_->worker) + ")";
}

void ws_client::fail(const std::string& what) const {
  std::string message = describe() + ": " + what;
  ADD_FAILURE() << message;
  throw wait_failed(message);
}

ws_client connect_on_worker(test_loop& loop, const std::string& url, int index, connect_options options) {
  // With two workers a wrong landing happens half the time; 64 in a row
  // means the worker is not accepting at all.
  constexpr int attempts = 64;
  std::vector<int> seen;
  for (int i = 0; i < attempts; ++i) {
    ws_client client(loop);
    client.connect(url, options);
    if (client.worker() == index) return client;
    seen.push_back(client.worker());
  }
  std::string landed;
  for (int w : seen) landed += std::to_string(w) + " ";
  std::string message = "no connection landed on worker " + std::to_string(index) + " in " +
                        std::to_string(attempts) + " attempts; workers seen: " + landed;
  ADD_FAILURE() << message;
  throw wait_failed(message);
}

}  // namespace switchboard::testing
