#include "common/metrics.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <system_error>

namespace switchboard::metrics {
namespace {

// Label values here are our own names or the node name; the node name may
// hold anything, so it is escaped as the text format asks.
std::string escape_label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class writer {
 public:
  writer(const region& r, std::string_view node) : region_(r), node_(escape_label(node)) {}

  void header(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, std::size_t worker, std::string_view extra_labels, std::uint64_t v) {
    out_ += name;
    out_ += "{node=\"";
    out_ += node_;
    out_ += "\",worker=\"";
    out_ += std::to_string(worker);
    out_ += '"';
    if (!extra_labels.empty()) {
      out_ += ',';
      out_ += extra_labels;
    }
    out_ += "} ";
    out_ += std::to_string(v);
    out_ += '\n';
  }

  // One series per worker of the value `pick` selects.
  void simple(std::string_view name, std::string_view type, std::string_view help,
              const std::function<const value&(const worker_metrics&)>& pick) {
    header(name, type, help);
    for (std::size_t w = 0; w < region_.size(); ++w) sample(name, w, {}, get(pick(region_.slot(w))));
  }

  template <std::size_t N, typename Labels>
  void labelled(std::string_view name, std::string_view type, std::string_view help, std::string_view label,
                const Labels& values, const std::function<const std::array<value, N>&(const worker_metrics&)>& pick) {
    header(name, type, help);
    for (std::size_t w = 0; w < region_.size(); ++w) {
      const auto& series = pick(region_.slot(w));
      for (std::size_t i = 0; i < N; ++i) {
        std::string labels(label);
        labels += "=\"";
        if (i < values.size()) {
          if constexpr (std::is_same_v<typename Labels::value_type, int>) labels += std::to_string(values[i]);
          else labels += values[i];
        } else {
          labels += "other";
        }
        labels += '"';
        sample(name, w, labels, get(series[i]));
      }
    }
  }

  // An info gauge: 1 with the text as label `label`, for workers that have one.
  void info(std::string_view name, std::string_view help, std::string_view label,
            const std::function<const shared_text&(const worker_metrics&)>& pick) {
    header(name, "gauge", help);
    for (std::size_t w = 0; w < region_.size(); ++w) {
      std::string text = pick(region_.slot(w)).load();
      if (!text.empty()) sample(name, w, std::string(label) + "=\"" + escape_label(text) + "\"", 1);
    }
  }

  // api_requests: one series per route and status.
  void api_matrix(std::string_view name, std::string_view help) {
    header(name, "counter", help);
    for (std::size_t w = 0; w < region_.size(); ++w) {
      const auto& table = region_.slot(w).api_requests;
      for (std::size_t r = 0; r < api_routes.size(); ++r) {
        for (std::size_t i = 0; i <= api_statuses.size(); ++i) {
          std::string labels = "route=\"" + std::string(api_routes[r]) + "\",status=\"" +
                               (i < api_statuses.size() ? std::to_string(api_statuses[i]) : "other") + "\"";
          sample(name, w, labels, get(table[r][i]));
        }
      }
    }
  }

  void latency(std::string_view name, std::string_view help,
               const std::function<const histogram&(const worker_metrics&)>& pick) {
    header(name, "histogram", help);
    for (std::size_t w = 0; w < region_.size(); ++w) {
      const auto& h = pick(region_.slot(w));
      std::uint64_t cumulative = 0;
      std::string bucket_name = std::string(name) + "_bucket";
      for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += get(h.buckets[i]);
        char bound[32];
        if (i < latency_bounds.size()) std::snprintf(bound, sizeof bound, "le=\"%g\"", latency_bounds[i]);
        else std::snprintf(bound, sizeof bound, "le=\"+Inf\"");
        sample(bucket_name, w, bound, cumulative);
      }
      // The sum in seconds: printed by hand, it is not an integer.
      char sum[64];
      std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(get(h.sum_ns)) / 1e9);
      out_ += std::string(name) + "_sum{node=\"" + node_ + "\",worker=\"" + std::to_string(w) + "\"} " + sum + "\n";
      sample(std::string(name) + "_count", w, {}, get(h.count));
    }
  }

  std::string take() { return std::move(out_); }

 private:
  const region& region_;
  std::string node_;
  std::string out_;
};

}  // namespace

std::size_t api_status_index(int status) {
  auto it = std::find(api_statuses.begin(), api_statuses.end(), status);
  return static_cast<std::size_t>(it - api_statuses.begin());
}

std::size_t close_code_index(int code) {
  auto it = std::find(close_codes.begin(), close_codes.end(), code);
  return static_cast<std::size_t>(it - close_codes.begin());
}

void histogram::observe_ns(std::uint64_t ns) {
  double seconds = static_cast<double>(ns) / 1e9;
  auto it = std::lower_bound(latency_bounds.begin(), latency_bounds.end(), seconds);
  add(buckets[static_cast<std::size_t>(it - latency_bounds.begin())]);
  add(count);
  add(sum_ns, ns);
}

void shared_text::store(std::string_view text) {
  text = text.substr(0, capacity);
  std::array<std::uint64_t, std::tuple_size_v<decltype(words)>> packed{};
  // An empty view may hold a null pointer, which memcpy must not see.
  if (!text.empty()) std::memcpy(packed.data(), text.data(), text.size());
  std::uint64_t seq = sequence.load(std::memory_order_relaxed);
  sequence.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (std::size_t i = 0; i < words.size(); ++i) words[i].store(packed[i], std::memory_order_relaxed);
  sequence.store(seq + 2, std::memory_order_release);
}

std::string shared_text::load() const {
  // A writer holds the sequence odd for a few stores; a reader that keeps
  // finding it odd is looking at a writer that died mid-write.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::uint64_t before = sequence.load(std::memory_order_acquire);
    if (before % 2 != 0) continue;
    std::array<std::uint64_t, std::tuple_size_v<decltype(words)>> packed{};
    for (std::size_t i = 0; i < words.size(); ++i) packed[i] = words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (sequence.load(std::memory_order_relaxed) != before) continue;
    const char* bytes = reinterpret_cast<const char*>(packed.data());
    return std::string(bytes, ::strnlen(bytes, capacity));
  }
  return {};
}

void reset_gauges(worker_metrics& m) {
  m.redis_primary.store({});
  for (value* gauge : {&m.connections_open, &m.queued_bytes, &m.subscriptions, &m.shard_subscribers, &m.healthy, &m.pool.all, &m.pool.idle,
                       &m.pool.in_use, &m.pool.waiting})
    set(*gauge, 0);
}

region::region(std::size_t slots) : slots_(slots) {
  void* memory = ::mmap(nullptr, sizeof(worker_metrics) * slots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
  if (memory == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap metrics region");
  base_ = static_cast<worker_metrics*>(memory);
  for (std::size_t i = 0; i < slots; ++i) new (&base_[i]) worker_metrics{};
}

region::~region() {
  for (std::size_t i = 0; i < slots_; ++i) base_[i].~worker_metrics();
  ::munmap(base_, sizeof(worker_metrics) * slots_);
}

std::string render(const region& r, std::string_view node) {
  using m = worker_metrics;
  writer w(r, node);
  w.simple("switchboard_connections_open", "gauge", "Open WebSocket connections.",
           [](const m& s) -> const value& { return s.connections_open; });
  w.simple("switchboard_connections_accepted_total", "counter", "WebSocket connections accepted.",
           [](const m& s) -> const value& { return s.connections_accepted; });
  w.labelled<close_codes.size() + 1>("switchboard_closes_total", "counter",
                                     "WebSocket connections closed, by close code (1006: no close frame).", "code",
                                     close_codes, [](const m& s) -> const auto& { return s.closes; });
  w.labelled<request_types.size()>("switchboard_messages_received_total", "counter",
                                   "Client frames received, by request type.", "type", request_types,
                                   [](const m& s) -> const auto& { return s.received; });
  w.labelled<scopes.size()>("switchboard_deliveries_total", "counter", "Frames queued to local recipients, by scope.",
                            "scope", scopes, [](const m& s) -> const auto& { return s.deliveries; });
  w.labelled<error_codes.size()>("switchboard_errors_total", "counter", "Error frames sent, by code.", "code",
                                 error_codes, [](const m& s) -> const auto& { return s.errors; });
  w.simple("switchboard_received_bytes_total", "counter", "WebSocket payload bytes received from clients.",
           [](const m& s) -> const value& { return s.bytes_received; });
  w.simple("switchboard_sent_bytes_total", "counter", "WebSocket payload bytes written to clients.",
           [](const m& s) -> const value& { return s.bytes_sent; });
  w.simple("switchboard_sent_frames_total", "counter", "WebSocket frames written to clients.",
           [](const m& s) -> const value& { return s.frames_sent; });
  w.simple("switchboard_socket_sends_total", "counter",
           "Sends to client sockets (system calls or io_uring entries); frames per send is how well writes batch.",
           [](const m& s) -> const value& { return s.socket_sends; });
  w.simple("switchboard_slow_consumer_closes_total", "counter", "Clients closed with 1008 for not reading fast enough.",
           [](const m& s) -> const value& { return s.slow_consumer_closes; });
  w.simple("switchboard_rate_limit_closes_total", "counter",
           "Clients closed with 1008 for going on sending while rate limited.",
           [](const m& s) -> const value& { return s.rate_limit_closes; });
  w.labelled<auth_failure_reasons.size()>("switchboard_auth_failures_total", "counter",
                                   "Upgrades refused (401, 403) and refreshes refused (forbidden), by reason.",
                                   "reason", auth_failure_reasons, [](const m& s) -> const auto& { return s.auth_failures; });
  w.simple("switchboard_outbound_queue_bytes", "gauge", "Bytes waiting in client outbound queues.",
           [](const m& s) -> const value& { return s.queued_bytes; });
  w.latency("switchboard_redis_publish_duration_seconds", "Time from a publish sent to Redis (PUBLISH, a batch, a history room's script) to its reply.",
            [](const m& s) -> const histogram& { return s.publish_latency; });
  w.api_matrix("switchboard_api_requests_total", "Backend API requests answered, by route and status.");
  w.latency("switchboard_api_publish_duration_seconds",
            "POST /api/publish: from the request read to the answer (the broker has taken every message).",
            [](const m& s) -> const histogram& { return s.api_publish_latency; });
  w.simple("switchboard_history_appends_total", "counter", "Messages stored in the history of a room that keeps one.",
           [](const m& s) -> const value& { return s.history_appends; });
  w.labelled<recovery_outcomes.size()>("switchboard_recoveries_total", "counter",
                                       "Joins with since, by outcome (recovered, epoch_changed, too_old).", "outcome",
                                       recovery_outcomes, [](const m& s) -> const auto& { return s.recoveries; });
  w.simple("switchboard_history_replayed_total", "counter",
           "Stored messages sent to connections recovering a room (joins with since).",
           [](const m& s) -> const value& { return s.history_replayed; });
  w.simple("switchboard_redis_reconnects_total", "counter", "Reconnections of the Redis subscriber connection.",
           [](const m& s) -> const value& { return s.redis_reconnects; });
  w.simple("switchboard_redis_failovers_total", "counter",
           "Moves of the Redis primary the worker followed (Sentinel: +switch-master heard, or a READONLY reply; "
           "Redis Cluster: a change of the slot map).",
           [](const m& s) -> const value& { return s.redis_failovers; });
  w.info("switchboard_redis_primary", "The Redis server the worker's control connection is on (1, by address).",
         "address", [](const m& s) -> const shared_text& { return s.redis_primary; });
  w.simple("switchboard_redis_subscriptions", "gauge", "Channels the worker's subscriber holds.",
           [](const m& s) -> const value& { return s.subscriptions; });
  w.simple("switchboard_redis_shard_subscribers", "gauge",
           "Redis Cluster: the worker's SSUBSCRIBE connections that hold channels (one per shard it needs).",
           [](const m& s) -> const value& { return s.shard_subscribers; });
  w.simple("switchboard_redis_moved_redirects_total", "counter",
           "Redis Cluster: MOVED replies followed (the slot map is read again).",
           [](const m& s) -> const value& { return s.pool.moved_redirects; });
  w.simple("switchboard_redis_ask_redirects_total", "counter",
           "Redis Cluster: ASK replies followed (a slot being migrated).",
           [](const m& s) -> const value& { return s.pool.ask_redirects; });
  w.simple("switchboard_subscription_probe_failures_total", "counter",
           "Subscription probes that did not come back in time (the subscriber was then reconnected).",
           [](const m& s) -> const value& { return s.probe_failures; });
  w.simple("switchboard_healthy", "gauge", "1 while the worker's /healthz answers 200.",
           [](const m& s) -> const value& { return s.healthy; });
  w.simple("switchboard_worker_restarts_total", "counter", "Times the master started a new worker in this slot.",
           [](const m& s) -> const value& { return s.restarts; });
  w.simple("switchboard_redis_pool_connections", "gauge", "Redis command pool connections, open or connecting.",
           [](const m& s) -> const value& { return s.pool.all; });
  w.simple("switchboard_redis_pool_idle_connections", "gauge", "Redis command pool connections open and not leased.",
           [](const m& s) -> const value& { return s.pool.idle; });
  w.simple("switchboard_redis_pool_in_use_connections", "gauge", "Redis command pool connections leased.",
           [](const m& s) -> const value& { return s.pool.in_use; });
  w.simple("switchboard_redis_pool_waiting", "gauge", "Callers queued for a Redis command pool connection.",
           [](const m& s) -> const value& { return s.pool.waiting; });
  w.simple("switchboard_redis_pool_acquire_timeouts_total", "counter",
           "Callers that got no Redis command pool connection within --redis-pool-acquire-ms.",
           [](const m& s) -> const value& { return s.pool.acquire_timeouts; });
  w.simple("switchboard_redis_pool_acquire_rejections_total", "counter",
           "Callers refused at once: the pool was full and waiting was off or the waiter queue was full.",
           [](const m& s) -> const value& { return s.pool.acquire_rejections; });
  w.simple("switchboard_redis_pool_connects_total", "counter", "Redis command pool connections opened.",
           [](const m& s) -> const value& { return s.pool.connects; });
  w.simple("switchboard_redis_pool_connect_failures_total", "counter", "Redis command pool connects that failed.",
           [](const m& s) -> const value& { return s.pool.connect_failures; });
  w.simple("switchboard_redis_pool_broken_total", "counter",
           "Broken Redis command pool connections dropped instead of handed out again.",
           [](const m& s) -> const value& { return s.pool.broken_discarded; });
  return w.take();
}

}  // namespace switchboard::metrics
