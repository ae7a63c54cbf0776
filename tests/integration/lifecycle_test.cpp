// Lifecycle and hostile input: rolling restart under load, drain order,
// resource limits, and clients that send garbage beside one that must keep
// being served.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <random>
#include <set>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A plain TCP connection for bytes no WebSocket client would send.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_connection() { ::close(fd_); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return connected_; }
  void send(std::string_view bytes) { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Everything until the peer closes or `timeout` passes; `closed` says which.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    char buf[4096];
    auto deadline = clock::now() + timeout;
    *closed = false;
    while (clock::now() < deadline) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        *closed = true;
        break;
      }
      if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string upgrade_request(std::string_view extra_headers = {}) {
  std::string req =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  req += extra_headers;
  req += "\r\n";
  return req;
}

unsigned status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return static_cast<unsigned>(std::stoi(response.substr(9, 3)));
}

// CPU time (user + system, in clock ticks) a process has used.
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto after_name = text.rfind(')');
  std::istringstream fields(text.substr(after_name + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // fields 3..13
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

// Sequence numbers a listener received from one sender must have no gaps.
void expect_contiguous(const std::vector<int>& seqs, const std::string& who) {
  for (std::size_t i = 1; i < seqs.size(); ++i)
    ASSERT_EQ(seqs[i], seqs[i - 1] + 1) << who << " missed messages between " << seqs[i - 1] << " and " << seqs[i];
}

TEST_F(cluster_test, rolling_restart_under_load_refuses_nothing_and_loses_nothing) {
  start_server();
  const std::uint16_t port = server().port();
  auto before = server().worker_pids();

  // The sender sits on a second node, so the rolling restart never closes it.
  node_process sender_node(switchboard_binary, redis(), {.workers = 1, .node = "sender"});
  ws_client sender(loop_);
  sender.connect(sender_node.ws_url());

  struct listener {
    ws_client client;
    std::vector<int> seqs;
  };
  std::vector<std::unique_ptr<listener>> listeners;
  auto add_listener = [&] {
    auto l = std::make_unique<listener>(listener{ws_client(loop_), {}});
    l->client.connect(server().ws_url());
    listeners.push_back(std::move(l));
  };
  for (int i = 0; i < 6; ++i) add_listener();

  int next_seq = 0, acked = 0, handshakes = 0, closed_1001 = 0;
  auto pump = [&] {
    sender.send_json({{"type", "broadcast"}, {"data", next_seq}, {"ref", next_seq}});
    ++next_seq;
    loop_.run_for(5ms);
    for (auto& frame : sender.take_all())
      if (frame.value("type", "") == "ack") ++acked;
    for (auto& l : listeners) {
      for (auto& frame : l->client.take_all())
        if (frame.value("type", "") == "message" && frame.value("from", "") == sender.id())
          l->seqs.push_back(frame["data"].get<int>());
    }
    // Replace listeners closed by the restart; every handshake must succeed.
    for (auto& l : listeners) {
      if (l->client.is_open()) continue;
      EXPECT_EQ(l->client.close_code(), 1001) << l->client.describe() << ": " << l->client.end_reason();
      ++closed_1001;
      expect_contiguous(l->seqs, l->client.describe());
      l = std::make_unique<listener>(listener{ws_client(loop_), {}});
      l->client.connect(server().ws_url());
      ++handshakes;
    }
    // A steady stream of fresh connections, too.
    ws_client probe(loop_);
    probe.connect(server().ws_url());
    ++handshakes;
  };

  for (int i = 0; i < 40; ++i) pump();
  server().signal(SIGHUP);
  const auto reload_started = clock::now();
  // Until both workers have been replaced, then a little more.
  while (clock::now() - reload_started < 20s) {
    pump();
    auto now_pids = server().worker_pids();
    bool replaced = now_pids.size() == 2 && std::none_of(now_pids.begin(), now_pids.end(), [&](pid_t p) {
                      return std::find(before.begin(), before.end(), p) != before.end();
                    });
    if (replaced && closed_1001 > 0) break;
  }
  for (int i = 0; i < 40; ++i) pump();
  loop_.run_for(300ms);
  for (auto& frame : sender.take_all())
    if (frame.value("type", "") == "ack") ++acked;
  for (auto& l : listeners) {
    for (auto& frame : l->client.take_all())
      if (frame.value("type", "") == "message") l->seqs.push_back(frame["data"].get<int>());
    expect_contiguous(l->seqs, l->client.describe());
    // A listener that stayed to the end has everything sent after it joined.
    if (!l->seqs.empty()) {
      EXPECT_EQ(l->seqs.back(), next_seq - 1) << l->client.describe();
    }
  }
  EXPECT_EQ(acked, next_seq) << "every broadcast is acked (the sender's node was not restarted)";
  EXPECT_GT(closed_1001, 0) << "the reload replaced no worker holding listeners";
  auto after = server().worker_pids();
  for (pid_t p : after) EXPECT_EQ(std::count(before.begin(), before.end(), p), 0) << "worker " << p << " was not replaced";
  std::cout << "rolling restart: " << handshakes << " handshakes, " << closed_1001 << " clients closed with 1001, "
            << next_seq << " broadcasts acked\n";
  (void)port;
}

TEST_F(cluster_test, sigterm_turns_health_503_before_the_listener_closes) {
  start_server({.drain_seconds = 2, .extra_flags = {"--drain-notice-seconds", "2"}});
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  server().signal(SIGTERM);
  // During the notice: 503, and the node still accepts.
  EXPECT_TRUE(wait_health(server().port(), 503, 4, 1500ms));
  ws_client late(loop_);
  late.connect(server().ws_url());
  // Then every client, the late one too, is closed with 1001.
  for (ws_client* c : {&a, &b, &late}) {
    ASSERT_TRUE(c->wait_closed(10s)) << c->describe();
    EXPECT_EQ(c->close_code(), 1001) << c->describe();
  }
  auto status = server().wait_exit(10s);
  ASSERT_TRUE(status.has_value()) << "the node did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_EQ(http_get(server().port(), "/healthz", 1s).status, 0u) << "still answering after exit";
}

TEST_F(cluster_test, sigterm_exits_within_the_deadline_even_when_a_client_never_reads) {
  start_server({.drain_seconds = 2, .extra_flags = {"--send-queue-bytes", "64MiB"}});
  ws_client stuck = connect({.paused = false, .receive_buffer = 4096});
  stuck.pause_reading();
  ws_client sender = connect();
  const std::string big(60000, 'x');
  for (int i = 0; i < 200; ++i) sender.send_json({{"type", "broadcast"}, {"data", big}});
  loop_.run_for(1s);
  const auto started = clock::now();
  server().signal(SIGTERM);
  auto status = server().wait_exit(15s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  ASSERT_TRUE(status.has_value()) << "the node did not exit";
  std::cout << "exit with a client that never reads took " << took.count() << " ms (drain 2 s)\n";
  EXPECT_LT(took, 10s);
}

// SIGTERM while a rolling restart is between its steps: the old worker the
// step had not retired yet drains like every other, so each client gets 1001
// and the node exits well before the master's kill deadline.
TEST_F(cluster_test, sigterm_during_a_rolling_restart_drains_every_worker) {
  start_server({.drain_seconds = 3});
  std::vector<ws_client> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(connect_on(i % 2));
  const auto started = clock::now();
  server().signal(SIGHUP);
  std::this_thread::sleep_for(40ms);
  server().signal(SIGTERM);
  for (auto& client : clients) {
    ASSERT_TRUE(client.wait_closed(8s)) << client.describe();
    EXPECT_EQ(client.close_code(), 1001) << client.describe() << ": " << client.end_reason();
  }
  auto status = server().wait_exit(15s);
  ASSERT_TRUE(status.has_value()) << "the node did not exit";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
  EXPECT_LT(clock::now() - started, 5s) << "a worker was left to the kill deadline:\n" << server().log_tail();
  EXPECT_EQ(server().log_tail(20000).find("killing them"), std::string::npos) << server().log_tail();
}

TEST_F(cluster_test, upgrades_past_max_connections_get_503) {
  start_server({.workers = 1, .extra_flags = {"--max-connections", "3"}});
  std::vector<ws_client> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect());
  raw_connection extra(server().port());
  extra.send(upgrade_request());
  bool closed = false;
  std::string response = extra.read_until_closed(3s, &closed);
  EXPECT_EQ(status_of(response), 503u) << response;
  // Room again once one leaves.
  held.pop_back();
  bool admitted = loop_.run_until(
      [&] {
        raw_connection again(server().port());
        again.send(upgrade_request());
        bool c = false;
        return status_of(again.read_until_closed(500ms, &c)) == 101;
      },
      10s);
  EXPECT_TRUE(admitted);
}

TEST_F(cluster_test, slow_and_half_open_handshakes_are_dropped_at_the_deadline) {
  start_server({.extra_flags = {"--handshake-seconds", "1"}});
  raw_connection silent(server().port());
  raw_connection slowloris(server().port());
  slowloris.send("GET /ws HTTP/1.1\r\nHost: x\r\n");
  const auto started = clock::now();
  bool closed_silent = false, closed_slow = false;
  silent.read_until_closed(5s, &closed_silent);
  slowloris.send("X-A: 1\r\n");
  slowloris.read_until_closed(5s, &closed_slow);
  EXPECT_TRUE(closed_silent);
  EXPECT_TRUE(closed_slow);
  EXPECT_LT(clock::now() - started, 5s);
  ws_client fine = connect();  // the worker is unharmed
  fine.send_json({{"type", "ping"}, {"ref", 1}});
  EXPECT_EQ(fine.next_answer(), (json{{"type", "pong"}, {"ref", 1}}));
}

TEST_F(cluster_test, a_peer_that_stops_answering_pings_is_dropped) {
  start_server({.extra_flags = {"--idle-seconds", "2"}});
  // A raw connection that completes the upgrade and then never answers the
  // server's pings (a WebSocket client library would answer them).
  raw_connection dead(server().port());
  dead.send(upgrade_request());
  bool closed = false;
  std::string got = dead.read_until_closed(500ms, &closed);
  ASSERT_EQ(status_of(got), 101u) << got;
  const auto started = clock::now();
  dead.read_until_closed(10s, &closed);
  EXPECT_TRUE(closed) << "the silent peer was not dropped";
  std::cout << "silent peer dropped after " << std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count()
            << " ms (idle 2 s)\n";
  ws_client alive = connect();
  loop_.run_for(3s);  // a reading client answers pings and stays
  EXPECT_TRUE(alive.is_open());
}

TEST_F(cluster_test, running_out_of_file_descriptors_neither_crashes_nor_spins) {
  // The node inherits a low descriptor limit from us, for this start only.
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = 64;
  ::setrlimit(RLIMIT_NOFILE, &low);
  try {
    start_server({.workers = 1});
  } catch (...) {
    ::setrlimit(RLIMIT_NOFILE, &saved);
    throw;
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  auto workers = server().worker_pids();
  ASSERT_EQ(workers.size(), 1u);

  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 120; ++i) flood.push_back(std::make_unique<raw_connection>(server().port()));
  loop_.run_for(500ms);
  long cpu_before = cpu_ticks(workers[0]);
  loop_.run_for(2s);
  long cpu_used = cpu_ticks(workers[0]) - cpu_before;
  EXPECT_LT(cpu_used, 100) << "the accept loop spins on EMFILE (" << cpu_used << " ticks in 2 s)";
  EXPECT_EQ(server().worker_pids(), workers) << "the worker died";

  flood.clear();
  bool served = loop_.run_until(
      [&] { return http_get(server().port(), "/healthz", 1s).status == 200; }, 15s);
  EXPECT_TRUE(served) << "the worker does not serve again once descriptors are free";
  ws_client after = connect();
  after.send_json({{"type", "ping"}, {"ref", 2}});
  EXPECT_EQ(after.next_answer(), (json{{"type", "pong"}, {"ref", 2}}));
}

TEST_F(cluster_test, hostile_clients_leave_other_clients_served) {
  start_server();
  auto workers = server().worker_pids();
  ws_client victim0 = connect_on(0);
  ws_client victim1 = connect_on(1);
  ws_client sender = connect();
  std::mt19937 random(7);

  auto check_service = [&](int round) {
    sender.send_json({{"type", "broadcast"}, {"data", round}, {"ref", round}});
    for (ws_client* v : {&victim0, &victim1}) {
      json frame = v->next_of_type("message");
      EXPECT_EQ(frame["data"], round) << v->describe();
    }
    sender.take_all();
  };

  int round = 0;
  // Random bytes instead of HTTP.
  for (int i = 0; i < 20; ++i) {
    raw_connection c(server().port());
    std::string junk(1 + random() % 3000, '\0');
    for (auto& ch : junk) ch = static_cast<char>(random());
    c.send(junk);
  }
  check_service(++round);
  // Truncated handshakes, and oversized headers (431/400 or a close, never a crash).
  for (int i = 0; i < 10; ++i) {
    raw_connection c(server().port());
    std::string req = upgrade_request();
    c.send(req.substr(0, random() % req.size()));
  }
  {
    raw_connection c(server().port());
    c.send(upgrade_request("X-Huge: " + std::string(64 * 1024, 'h') + "\r\n"));
    bool closed = false;
    std::string response = c.read_until_closed(3s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_NE(status_of(response), 101u);
  }
  check_service(++round);
  // Invalid WebSocket frames after a good handshake: reserved bits, unmasked
  // client frames, bad opcodes, oversized control frames.
  for (std::string frame : {std::string("\xf1\x80\x00\x00\x00\x00", 6), std::string("\x81\x05hello", 7),
                            std::string("\x83\x80\x00\x00\x00\x00", 6), std::string("\x89\xfe\x01\x00\x00\x00\x00\x00", 8)}) {
    raw_connection c(server().port());
    c.send(upgrade_request());
    bool closed = false;
    std::string response = c.read_until_closed(300ms, &closed);
    ASSERT_EQ(status_of(response), 101u) << response;
    c.send(frame);
    c.read_until_closed(3s, &closed);
    EXPECT_TRUE(closed) << "the server kept a connection that sent an invalid frame";
  }
  check_service(++round);
  // A flood from one client: thousands of requests without reading answers.
  {
    ws_client flooder = connect({.paused = false, .receive_buffer = 4096});
    flooder.pause_reading();
    for (int i = 0; i < 3000; ++i) flooder.send_json({{"type", "ping"}, {"ref", i}});
    for (int i = 0; i < 300; ++i) flooder.send_text("{not json");
    loop_.run_for(500ms);
    check_service(++round);
  }
  check_service(++round);
  EXPECT_EQ(server().worker_pids(), workers) << "a worker died";
  EXPECT_TRUE(victim0.is_open() && victim1.is_open());
}

}  // namespace
}  // namespace switchboard::testing
