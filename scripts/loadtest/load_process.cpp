#include "scripts/loadtest/load_process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <string>

#include "scripts/loadtest/control.hpp"
#include "scripts/loadtest/fleet.hpp"
#include "scripts/loadtest/run_state.hpp"
#include "scripts/loadtest/scenario.hpp"
#include "scripts/loadtest/wait_group.hpp"

namespace switchboard::load {
namespace {

nanos cpu_time() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) { return static_cast<nanos>(tv.tv_sec) * ns_per_s + tv.tv_usec * 1000; };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// A tick on every whole second after `epoch`, each second numbered, none
// skipped even when late, so the parent can line up the processes.
asio::awaitable<void> tick_loop(run_state& rs, control& ctl, nanos epoch) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::int64_t second = 1; !rs.stopping; ++second) {
    timer.expires_at(to_time_point(epoch + second * ns_per_s));
    co_await timer.async_wait(use_nothrow);
    if (rs.stopping) break;
    ctl.send("tick " + std::to_string(second) + " " + encode(rs.total.c) + " h=" + encode(rs.interval));
    rs.interval.clear();
  }
}

asio::awaitable<void> finish(run_state& rs, control& ctl, asio::io_context& ioc) {
  co_await ctl.wait_stop();
  rs.total.cpu = cpu_time();
  ctl.send("final " + encode(rs.total));
  ioc.stop();
}

}  // namespace

void run_load_process(const options& o, const plan& p, const target& t, const token_source& tokens, int index,
                      int from_parent, int to_parent, nanos epoch) {
  asio::io_context ioc{1};
  run_state rs(ioc, o, p, p.shares[static_cast<std::size_t>(index)], t, tokens);
  control ctl(ioc.get_executor(), from_parent, to_parent);
  fleet fl(rs);
  ctl.start([&] {
    rs.stopping = true;
    fl.abort_all();
  });
  spawn(ioc.get_executor(), tick_loop(rs, ctl, epoch), "progress ticks");
  spawn(ioc.get_executor(), run_scenario(rs, fl, ctl), "scenario");
  spawn(ioc.get_executor(), finish(rs, ctl, ioc), "finish");
  ioc.run();
  _exit(0);
}

}  // namespace switchboard::load
