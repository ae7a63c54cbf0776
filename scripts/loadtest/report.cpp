#include "scripts/loadtest/report.hpp"

#include <nlohmann/json.hpp>

#include "scripts/loadtest/progress.hpp"

namespace switchboard::load {
namespace {

// The figures both reports show, derived once.
struct figures {
  const counters& c;
  double seconds;            // the measured window
  double handshakes_per_s;   // over the connect phase; 0 when unknown
  double ratio;              // delivered / expected; -1 when nothing was expected
  std::uint64_t unanswered;
  double cpu_us_per_delivery;  // -1 without deliveries

  explicit figures(const options& o, const outcome& r)
      : c(r.total.c),
        seconds(r.measured_seconds),
        handshakes_per_s(0),
        ratio(c.expected ? static_cast<double>(c.window_delivered) / static_cast<double>(c.expected) : -1),
        unanswered(c.sent - std::min(c.sent, c.acked + c.rejected)),
        cpu_us_per_delivery(c.delivered ? static_cast<double>(r.total.cpu) / 1e3 / static_cast<double>(c.delivered)
                                        : -1) {
    const nanos span = r.total.connect_end - r.total.connect_begin;
    if (span > 0 && o.scenario != scenario_kind::churn) handshakes_per_s = static_cast<double>(c.opened) * 1e9 / span;
  }
  double per_s(std::uint64_t n) const { return seconds > 0 ? static_cast<double>(n) / seconds : 0; }
};

const char* latency_kind(scenario_kind s) {
  switch (s) {
    case scenario_kind::connect: return "handshake (connect to welcome)";
    case scenario_kind::churn: return "cycle (scheduled start to pong)";
    default: return "delivery (from scheduled send time)";
  }
}

std::string tally_text(const tally& t) {
  if (t.empty()) return "none";
  std::string out;
  for (const auto& [k, n] : t) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n);
  return out;
}

std::string close_text(const std::map<int, std::uint64_t>& m) {
  if (m.empty()) return "none";
  std::string out;
  for (const auto& [code, n] : m) out += (out.empty() ? "" : ", ") + std::to_string(code) + " x" + std::to_string(n);
  return out;
}

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string load_model(const options& o) {
  char buf[128];
  if (o.scenario == scenario_kind::connect) {
    std::snprintf(buf, sizeof buf, "%zu handshakes in flight per process", o.connect_concurrency);
  } else if (o.closed_loop() && o.scenario == scenario_kind::churn) {
    std::snprintf(buf, sizeof buf, "closed loop, %zu loops back to back", o.clients);
  } else if (o.closed_loop()) {
    std::snprintf(buf, sizeof buf, "closed loop, window %zu", o.window);
  } else {
    std::snprintf(buf, sizeof buf, "open loop %g/s", o.rate);
  }
  return buf;
}

}  // namespace

void print_summary(std::FILE* out, const options& o, const outcome& r) {
  const figures f(o, r);
  const auto& c = f.c;
  const auto& h = r.total.latency;
  std::fprintf(out, "\n== switchboard-load %s: %s, %d process(es), %s, %.3g s measured after %g s warmup%s\n",
               std::string(to_string(o.scenario)).c_str(), o.url.c_str(), o.procs, load_model(o).c_str(),
               r.measured_seconds, o.warmup, r.interrupted ? " (INTERRUPTED)" : "");
  if (r.failed_processes) std::fprintf(out, "!! %d load process(es) ended without results\n", r.failed_processes);
  std::fprintf(out, "connections  %llu opened of %llu tried (%llu failed: %s), %llu lost, %llu open at go",
               static_cast<unsigned long long>(c.opened), static_cast<unsigned long long>(c.attempts),
               static_cast<unsigned long long>(c.connect_failed), tally_text(r.total.failures).c_str(),
               static_cast<unsigned long long>(c.lost), static_cast<unsigned long long>(r.connected_at_go));
  if (f.handshakes_per_s > 0) std::fprintf(out, "; %.0f handshakes/s", f.handshakes_per_s);
  std::fprintf(out, "\n");
  if (o.scenario == scenario_kind::direct) {
    std::fprintf(out, "pairs        %llu, %llu with partners on different workers\n",
                 static_cast<unsigned long long>(c.pairs), static_cast<unsigned long long>(c.cross_worker_pairs));
  }
  if (o.scenario == scenario_kind::rooms) {
    std::fprintf(out, "rooms        %zu x %zu members: %llu of %zu joined (each refused join is under errors)\n",
                 o.rooms, o.room_size, static_cast<unsigned long long>(c.joined), o.rooms * o.room_size);
  }
  if (o.scenario == scenario_kind::connect) {
    std::fprintf(out, "pings        %llu sent at the end of the hold, %llu answered, %llu unanswered\n",
                 static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.acked),
                 static_cast<unsigned long long>(f.unanswered));
  }
  if (o.scenario == scenario_kind::churn) {
    std::fprintf(out, "cycles       %llu completed in the window (%.1f/s), %llu pings unanswered\n",
                 static_cast<unsigned long long>(c.window_acked), f.per_s(c.window_acked),
                 static_cast<unsigned long long>(f.unanswered));
  }
  if (o.sends_messages()) {
    std::fprintf(out, "requests     in the window sent %llu (%.1f/s), acknowledged %llu; in all rejected %llu, unanswered %llu\n",
                 static_cast<unsigned long long>(c.window_sent), f.per_s(c.window_sent),
                 static_cast<unsigned long long>(c.window_acked), static_cast<unsigned long long>(c.rejected),
                 static_cast<unsigned long long>(f.unanswered));
    std::fprintf(out, "deliveries   %llu of %llu expected", static_cast<unsigned long long>(c.window_delivered),
                 static_cast<unsigned long long>(c.expected));
    if (f.ratio >= 0) std::fprintf(out, " (ratio %.6f)", f.ratio);
    std::fprintf(out, "; %.1f/s arrived in the window; unexpected %llu, out of order %llu\n",
                 f.per_s(c.window_arrived), static_cast<unsigned long long>(c.unexpected),
                 static_cast<unsigned long long>(c.out_of_order));
  }
  std::fprintf(out, "latency      %s: ", latency_kind(o.scenario));
  if (h.count() == 0) {
    std::fprintf(out, "no samples\n");
  } else {
    std::fprintf(out, "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%llu samples)\n",
                 format_duration(h.percentile(50)).c_str(), format_duration(h.percentile(90)).c_str(),
                 format_duration(h.percentile(99)).c_str(), format_duration(h.percentile(99.9)).c_str(),
                 format_duration(h.max()).c_str(), static_cast<unsigned long long>(h.count()));
  }
  std::fprintf(out, "errors       %s\n", tally_text(r.total.errors).c_str());
  std::fprintf(out, "closes       %s\n", close_text(r.total.close_codes).c_str());
  std::fprintf(out, "tester cpu   %.2f s", static_cast<double>(r.total.cpu) / 1e9);
  if (f.cpu_us_per_delivery >= 0)
    std::fprintf(out, " = %.2f us per delivery (%llu deliveries in all)", f.cpu_us_per_delivery,
                 static_cast<unsigned long long>(c.delivered));
  std::fprintf(out, "\n");
}

std::string json_summary(const options& o, const plan& p, const outcome& r) {
  using json = nlohmann::json;
  const figures f(o, r);
  const auto& c = f.c;
  const auto& h = r.total.latency;
  json failures = json::object(), errors = json::object(), closes = json::object();
  for (const auto& [k, n] : r.total.failures) failures[k] = n;
  for (const auto& [k, n] : r.total.errors) errors[k] = n;
  for (const auto& [code, n] : r.total.close_codes) closes[std::to_string(code)] = n;
  json j = {
      {"scenario", std::string(to_string(o.scenario))},
      {"url", o.url},
      {"procs", o.procs},
      {"source_addrs", o.source_addrs},
      {"mode", o.closed_loop() ? "closed" : "open"},
      {"rate", o.rate},
      {"window", o.window},
      {"duration_s", o.duration},
      {"measured_s", r.measured_seconds},
      {"warmup_s", o.warmup},
      {"connections",
       {{"planned", p.total_connections},
        {"attempted", c.attempts},
        {"opened", c.opened},
        {"failed", c.connect_failed},
        {"lost", c.lost},
        {"open_at_go", r.connected_at_go},
        {"handshakes_per_s", f.handshakes_per_s},
        {"failures", failures}}},
      {"sent", c.window_sent},
      {"acknowledged", c.window_acked},
      {"rejected", c.rejected},
      {"unanswered", f.unanswered},
      {"delivered", c.window_delivered},
      {"expected", c.expected},
      {"delivery_ratio", f.ratio >= 0 ? json(f.ratio) : json(nullptr)},
      {"deliveries_per_s", f.per_s(c.window_arrived)},
      {"sent_per_s", f.per_s(c.window_sent)},
      {"unexpected", c.unexpected},
      {"out_of_order", c.out_of_order},
      {"errors", errors},
      {"close_codes", closes},
      {"latency_ms",
       {{"of", latency_kind(o.scenario)},
        {"count", h.count()},
        {"p50", ms(h.percentile(50))},
        {"p90", ms(h.percentile(90))},
        {"p99", ms(h.percentile(99))},
        {"p99_9", ms(h.percentile(99.9))},
        {"max", ms(h.max())},
        {"mean", h.mean() / 1e6}}},
      {"all", {{"sent", c.sent}, {"acknowledged", c.acked}, {"delivered", c.delivered}}},
      // The load tester's own CPU, not the server's: a tester that costs as
      // much as the server cannot measure it.
      {"tester_cpu_s", static_cast<double>(r.total.cpu) / 1e9},
      {"tester_cpu_us_per_delivery", f.cpu_us_per_delivery >= 0 ? json(f.cpu_us_per_delivery) : json(nullptr)},
      {"interrupted", r.interrupted},
      {"failed_processes", r.failed_processes},
  };
  if (o.scenario == scenario_kind::direct) {
    j["pairs"] = c.pairs;
    j["cross_worker_pairs"] = c.cross_worker_pairs;
  }
  if (o.scenario == scenario_kind::rooms) {
    j["members"] = o.rooms * o.room_size;
    j["joined"] = c.joined;
  }
  if (o.scenario == scenario_kind::connect) j["pings"] = {{"sent", c.sent}, {"answered", c.acked}};
  if (o.scenario == scenario_kind::churn) {
    j["cycles"] = c.window_acked;
    j["cycles_per_s"] = f.per_s(c.window_acked);
  }
  return j.dump();
}

}  // namespace switchboard::load
