#include "server/net/backend_api.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol/client_id.hpp"
#include "common/protocol/disconnect.hpp"
#include "common/protocol/request.hpp"

namespace switchboard {
namespace {

using json = nlohmann::json;
using response = http::response<http::string_body>;

// PROTOCOL.md: a batch holds at most this many messages.
constexpr std::size_t max_batch = 1000;

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

response answer(const http::request<http::string_body>& req, http::status status, json body) {
  response res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

response ok(const http::request<http::string_body>& req, json body = json::object(), http::status status = http::status::ok) {
  body["ok"] = true;
  return answer(req, status, std::move(body));
}

response failed(const http::request<http::string_body>& req, http::status status, std::string_view code,
                std::string_view message, json more = json::object()) {
  more["ok"] = false;
  more["error"] = code;
  more["message"] = message;
  return answer(req, status, std::move(more));
}

response bad_request(const http::request<http::string_body>& req, std::string_view message, json more = json::object()) {
  return failed(req, http::status::bad_request, "bad_request", message, std::move(more));
}

response unavailable(const http::request<http::string_body>& req) {
  return failed(req, http::status::service_unavailable, "unavailable",
                "the message broker cannot take it right now; nothing was done; retry");
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The value of `name` in the query; nullopt when absent.
std::optional<std::string> query_param(const http::request<http::string_body>& req, std::string_view name) {
  auto target = boost::urls::parse_origin_form(req.target());
  if (!target) return std::nullopt;
  for (auto param : target->params())
    if (param.key == name && param.has_value) return std::string(param.value);
  return std::nullopt;
}

// A query value that is a whole number in decimal; nullopt for anything else.
std::optional<std::uint64_t> whole_number(const std::optional<std::string>& text) {
  std::uint64_t n = 0;
  if (!text || text->empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return n;
}

// One message of a publish body, checked; its strings are its own.
struct checked_message {
  protocol::scope scope{};
  std::string target;
  std::string data;
};

// nullopt and `why` when the object is not a message PROTOCOL.md allows.
std::optional<checked_message> check_message(const json& item, std::string& why) {
  if (!item.is_object()) return why = "a message must be a JSON object", std::nullopt;
  auto text = [&item](const char* name) -> const std::string* {
    auto it = item.find(name);
    return it != item.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* scope = text("scope");
  if (!scope) return why = "scope must be broadcast, room, direct or user", std::nullopt;
  auto data = item.find("data");
  if (data == item.end()) return why = "data is missing", std::nullopt;
  checked_message out;
  out.data = data->dump();
  if (*scope == "broadcast") {
    out.scope = protocol::scope::broadcast;
  } else if (*scope == "room") {
    const std::string* room = text("room");
    if (!room || !protocol::is_valid_room_name(*room))
      return why = "room must be 1 to 128 bytes without control characters", std::nullopt;
    // A room message to user:U is a message to U, as from a client.
    if (auto user = protocol::personal_room_user(*room); user && !user->empty()) {
      out.scope = protocol::scope::user;
      out.target = *user;
    } else {
      out.scope = protocol::scope::room;
      out.target = *room;
    }
  } else if (*scope == "direct") {
    const std::string* to = text("to");
    if (!to || !protocol::is_valid_client_id(*to)) return why = "to must be a client id", std::nullopt;
    out.scope = protocol::scope::direct;
    out.target = *to;
  } else if (*scope == "user") {
    const std::string* user = text("user");
    if (!user || !protocol::is_valid_room_name(*user))
      return why = "user must be 1 to 128 bytes without control characters", std::nullopt;
    out.scope = protocol::scope::user;
    out.target = *user;
  } else {
    return why = "scope must be broadcast, room, direct or user", std::nullopt;
  }
  return out;
}

}  // namespace

struct backend_api::route {
  std::string_view path;
  http::verb method;
  asio::awaitable<response> (backend_api::*handle)(const http::request<http::string_body>&);
};

backend_api::backend_api(const config& cfg, publisher& messages, room_service& rooms, presence_store& presence,
                         history_store& history, bus& cluster, metrics::worker_metrics& counters)
    : cfg_(cfg),
      messages_(messages),
      rooms_(rooms),
      presence_(presence),
      history_(history),
      bus_(cluster),
      metrics_(counters),
      key_digest_(sha256(cfg.api_key)) {}

bool backend_api::is_api_path(std::string_view target) {
  auto path = path_of(target);
  return path == "/api" || path.starts_with("/api/");
}

bool backend_api::authorized(const http::request<http::string_body>& req) const {
  auto header = req[http::field::authorization];
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  // Digests of equal length, compared in constant time: neither the key's
  // bytes nor its length leak through the time an answer takes.
  auto given = sha256(header.substr(scheme.size()));
  return CRYPTO_memcmp(given.data(), key_digest_.data(), given.size()) == 0;
}

asio::awaitable<response> backend_api::respond(const http::request<http::string_body>& req) {
  std::size_t route_index = metrics::api_route_other;
  auto res = co_await dispatch(req, route_index);
  metrics::add(metrics_.api_requests[route_index][metrics::api_status_index(static_cast<int>(res.result_int()))]);
  co_return res;
}

response backend_api::too_large(const http::request<http::string_body>& req) {
  auto res = failed(req, http::status::payload_too_large, "too_large",
                    "the body is larger than --api-max-body-bytes (" + std::to_string(cfg_.api_max_body_bytes) + ")");
  res.keep_alive(false);
  metrics::add(metrics_.api_requests[metrics::api_route_other][metrics::api_status_index(413)]);
  return res;
}

asio::awaitable<response> backend_api::dispatch(const http::request<http::string_body>& req, std::size_t& route_index) {
  static constexpr route routes[] = {
      {"/api/publish", http::verb::post, &backend_api::publish},
      {"/api/presence", http::verb::get, &backend_api::presence},
      {"/api/history", http::verb::get, &backend_api::history},
      {"/api/disconnect", http::verb::post, &backend_api::disconnect},
      {"/api/stats", http::verb::get, &backend_api::stats},
  };
  static_assert(std::size(routes) == metrics::api_route_other, "a metrics label for every route");
  if (!authorized(req)) {
    auto res = failed(req, http::status::unauthorized, "unauthorized", "Authorization: Bearer <api key> is required");
    res.set(http::field::www_authenticate, "Bearer");
    co_return res;
  }
  auto path = path_of(req.target());
  for (std::size_t i = 0; i < std::size(routes); ++i) {
    const auto& r = routes[i];
    if (r.path != path) continue;
    route_index = i;
    if (req.method() != r.method) {
      auto res = failed(req, http::status::method_not_allowed, "method_not_allowed",
                        std::string("use ") + std::string(http::to_string(r.method)));
      res.set(http::field::allow, http::to_string(r.method));
      co_return res;
    }
    co_return co_await (this->*r.handle)(req);
  }
  co_return failed(req, http::status::not_found, "not_found", "no such API route");
}

asio::awaitable<response> backend_api::publish(const http::request<http::string_body>& req) {
  auto started = std::chrono::steady_clock::now();
  json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) co_return bad_request(req, "the body is not JSON");
  bool batch = body.is_array();
  if (batch && body.empty()) co_return bad_request(req, "an empty batch");
  if (batch && body.size() > max_batch) co_return bad_request(req, "a batch holds at most 1000 messages");

  // Every message is checked before any is sent: all of them or none.
  if (!batch) body = json::array({std::move(body)});
  std::vector<checked_message> checked;
  checked.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    std::string why;
    auto message = check_message(body[i], why);
    if (!message) co_return batch ? bad_request(req, why, {{"index", i}}) : bad_request(req, why);
    checked.push_back(std::move(*message));
  }
  std::vector<outbound_message> outbound;
  outbound.reserve(checked.size());
  for (const auto& m : checked) outbound.push_back({m.scope, "server", m.target, m.data});
  // Where each message to a room with history was stored.
  std::vector<std::optional<protocol::stream_position>> stored;
  error_code ec;
  if (batch) {
    ec = co_await messages_.publish_all(outbound, stored);
  } else {
    auto published = co_await messages_.publish(outbound.front());
    ec = published.ec;
    stored.push_back(std::move(published.stored));
  }
  if (ec) co_return unavailable(req);
  metrics_.api_publish_latency.observe_ns(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count()));
  auto place = [](const std::optional<protocol::stream_position>& at) {
    return at ? json{{"offset", at->offset}, {"epoch", at->epoch}} : json(nullptr);
  };
  json answer = json::object();
  if (!batch && stored.front()) {
    answer = place(stored.front());
  } else if (batch && std::any_of(stored.begin(), stored.end(), [](const auto& at) { return at.has_value(); })) {
    // One entry per message: its place, or null for one without history.
    json positions = json::array();
    for (const auto& at : stored) positions.push_back(place(at));
    answer["positions"] = std::move(positions);
  }
  co_return ok(req, std::move(answer), http::status::accepted);
}

asio::awaitable<response> backend_api::presence(const http::request<http::string_body>& req) {
  auto room = query_param(req, "room");
  if (!room || !protocol::is_valid_room_name(*room))
    co_return bad_request(req, "room must be 1 to 128 bytes without control characters");
  if (protocol::personal_room_user(*room)) co_return bad_request(req, "a personal room has no presence list");
  auto members = co_await rooms_.members(*room);
  if (!members) co_return unavailable(req);
  json list = json::array();
  for (const auto& member : *members) {
    json entry{{"id", member.id}};
    if (!member.user.empty()) entry["user"] = member.user;
    list.push_back(std::move(entry));
  }
  co_return ok(req, {{"room", *room}, {"members", std::move(list)}});
}

asio::awaitable<response> backend_api::history(const http::request<http::string_body>& req) {
  auto room = query_param(req, "room");
  if (!room || !protocol::is_valid_room_name(*room))
    co_return bad_request(req, "room must be 1 to 128 bytes without control characters");
  if (!history_.keeps(*room)) co_return failed(req, http::status::not_found, "not_found", "this room keeps no history");
  std::size_t limit = 0;
  if (auto given = query_param(req, "limit")) {
    auto n = whole_number(given);
    if (!n || *n == 0 || *n > 1000000) co_return bad_request(req, "limit must be a whole number from 1 to 1000000");
    limit = *n;
  }
  // since=N&epoch=E, as the client's {"since":{"offset":N,"epoch":E}}.
  std::optional<protocol::stream_position> since;
  auto since_text = query_param(req, "since");
  auto epoch = query_param(req, "epoch");
  if (since_text || epoch) {
    auto n = whole_number(since_text);
    if (!n || !epoch || epoch->size() > protocol::max_epoch_bytes)
      co_return bad_request(req, "since (a whole number from 0) and epoch come together");
    since = protocol::stream_position{*n, *epoch};
  }
  auto page = co_await history_.page(*room, since, limit);
  if (page.ec) co_return unavailable(req);
  json messages = json::array();
  for (const auto& frame : page.frames) messages.push_back(json::parse(frame, nullptr, /*allow_exceptions=*/false));
  co_return ok(req, {{"room", *room},
                     {"messages", std::move(messages)},
                     {"offset", page.now.offset},
                     {"epoch", page.now.epoch}});
}

asio::awaitable<response> backend_api::disconnect(const http::request<http::string_body>& req) {
  json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) co_return bad_request(req, "the body must be a JSON object");
  auto user = body.find("user");
  auto id = body.find("id");
  if ((user == body.end()) == (id == body.end())) co_return bad_request(req, "give user or id, one of them");
  protocol::disconnect_order order;
  std::string target;
  if (user != body.end()) {
    if (!user->is_string() || !protocol::is_valid_room_name(user->get_ref<const std::string&>()))
      co_return bad_request(req, "user must be 1 to 128 bytes without control characters");
    order.by_user = true;
    target = user->get<std::string>();
  } else {
    if (!id->is_string() || !protocol::is_valid_client_id(id->get_ref<const std::string&>()))
      co_return bad_request(req, "id must be a client id");
    target = id->get<std::string>();
  }
  order.target = target;
  if (auto code = body.find("code"); code != body.end()) {
    if (!code->is_number_integer() || code->get<long long>() < 4000 || code->get<long long>() > 4999)
      co_return bad_request(req, "code must be an integer from 4000 to 4999");
    order.code = code->get<int>();
  }
  std::string reason = "disconnected by the server";
  if (auto given = body.find("reason"); given != body.end()) {
    if (!given->is_string() || given->get_ref<const std::string&>().size() > protocol::max_close_reason_bytes)
      co_return bad_request(req, "reason must be a string of at most 123 bytes");
    reason = given->get<std::string>();
  }
  order.reason = reason;
  std::string channel = bus_.keys().control_channel();
  std::string encoded = protocol::encode_disconnect(order);
  if (co_await bus_.publish(channel, encoded)) co_return unavailable(req);
  co_return ok(req);
}

asio::awaitable<response> backend_api::stats(const http::request<http::string_body>& req) {
  auto reports = co_await bus_.registry().reports();
  if (!reports) co_return unavailable(req);
  // node -> (worker index -> connections), sorted both ways.
  std::map<std::string, std::map<long long, long long>> nodes;
  std::vector<std::string> workers;
  long long connections = 0;
  for (const auto& text : *reports) {
    json report = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!report.is_object() || !report.contains("node") || !report["node"].is_string()) continue;
    long long open = report.value("connections", 0LL);
    nodes[report["node"].get<std::string>()][report.value("worker", 0LL)] = open;
    connections += open;
    if (report.contains("key") && report["key"].is_string()) workers.push_back(report["key"].get<std::string>());
  }
  auto rooms = co_await presence_.room_count(workers);
  if (!rooms) co_return unavailable(req);
  json list = json::array();
  for (const auto& [node, slots] : nodes) {
    json entries = json::array();
    for (const auto& [index, open] : slots) entries.push_back({{"worker", index}, {"connections", open}});
    list.push_back({{"node", node}, {"workers", std::move(entries)}});
  }
  co_return ok(req, {{"connections", connections}, {"rooms", *rooms}, {"nodes", std::move(list)}});
}

}  // namespace switchboard
