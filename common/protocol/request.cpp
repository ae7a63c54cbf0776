#include "common/protocol/request.hpp"

#include <nlohmann/json.hpp>

namespace switchboard::protocol {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_ref_bytes = 64;

// Counts bracket depth outside strings; true when it stays within the limit.
bool depth_within_limit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_json_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// Every value below request_type_count has a name and the next one has none,
// so a type added without counting it (or counted without adding it) stops
// the build here rather than overrunning the metrics arrays.
static_assert(to_string(static_cast<request_type>(request_type_count - 1)) != "unknown" &&
                  to_string(static_cast<request_type>(request_type_count)) == "unknown",
              "request_type_count must be one past the last request_type");

std::optional<request_type> type_from_name(std::string_view name) {
  for (std::size_t i = 0; i < request_type_count; ++i) {
    auto type = static_cast<request_type>(i);
    if (to_string(type) == name) return type;
  }
  return std::nullopt;
}

request_error fail(error_kind kind, std::string message, std::optional<std::string> ref) {
  return request_error{kind, std::move(message), std::move(ref)};
}

// Reads a required string field; nullptr when it is missing or not a string.
const std::string* string_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

// `since`: {"offset": a whole number from 0, "epoch": a string}.
std::optional<std::string> read_since(const json& doc, std::optional<stream_position>& out) {
  auto it = doc.find("since");
  if (it == doc.end()) return std::nullopt;
  constexpr const char* shape = "since must be {\"offset\": a whole number from 0, \"epoch\": a string}";
  if (!it->is_object()) return shape;
  auto offset = it->find("offset");
  const std::string* epoch = string_field(*it, "epoch");
  if (offset == it->end() || !offset->is_number_unsigned() || epoch == nullptr) return shape;
  if (epoch->size() > max_epoch_bytes) return "since.epoch is longer than any epoch";
  out = stream_position{offset->get<std::uint64_t>(), *epoch};
  return std::nullopt;
}

}  // namespace

bool is_valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string_view> personal_room_user(std::string_view room) {
  constexpr std::string_view prefix = "user:";
  if (!room.starts_with(prefix)) return std::nullopt;
  return room.substr(prefix.size());
}

bool is_valid_room_name(std::string_view room) {
  if (room.empty() || room.size() > 128) return false;
  for (std::size_t i = 0; i < room.size(); ++i) {
    auto c = static_cast<unsigned char>(room[i]);
    if (c < 0x20 || c == 0x7f) return false;
    // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
    if (c == 0xc2 && i + 1 < room.size()) {
      auto next = static_cast<unsigned char>(room[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return false;
    }
  }
  return true;
}

parse_result parse_request(std::string_view text) {
  if (!depth_within_limit(text)) return fail(error_kind::bad_request, "JSON nested too deeply", std::nullopt);
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(error_kind::bad_json, "frame is not valid JSON", std::nullopt);
  if (!doc.is_object()) return fail(error_kind::bad_json, "frame is not a JSON object", std::nullopt);

  std::optional<std::string> ref;
  if (auto it = doc.find("ref"); it != doc.end()) {
    if (it->is_string() && it->get_ref<const std::string&>().size() <= max_ref_bytes) {
      ref = it->dump();
    } else if (it->is_number_integer()) {
      ref = it->dump();
    } else {
      return fail(error_kind::bad_request, "ref must be an integer or a string of at most 64 bytes", std::nullopt);
    }
  }

  const std::string* type_name = string_field(doc, "type");
  if (type_name == nullptr) return fail(error_kind::bad_request, "type must be a string", ref);
  auto type = type_from_name(*type_name);
  if (!type) return fail(error_kind::unknown_type, "unknown type: " + *type_name, ref);

  request req;
  req.type = *type;
  req.ref = ref;

  bool needs_data = *type == request_type::broadcast || *type == request_type::direct || *type == request_type::room;
  bool needs_room = *type == request_type::join || *type == request_type::leave || *type == request_type::room ||
                    *type == request_type::presence || *type == request_type::history;

  if (*type == request_type::direct) {
    // To a connection by `to`, or (v2) to every connection of a user.
    if (doc.contains("user")) {
      if (doc.contains("to")) return fail(error_kind::bad_request, "direct takes to or user, not both", ref);
      const std::string* user = string_field(doc, "user");
      if (user == nullptr) return fail(error_kind::bad_request, "user must be a string", ref);
      if (!is_valid_room_name(*user))
        return fail(error_kind::bad_request, "user must be 1 to 128 bytes without control characters", ref);
      req.user = *user;
    } else {
      const std::string* to = string_field(doc, "to");
      if (to == nullptr) return fail(error_kind::bad_request, "to must be a string", ref);
      if (!is_valid_client_id(*to)) return fail(error_kind::bad_request, "to is not a valid client id", ref);
      req.to = *to;
    }
  }
  if (needs_room) {
    const std::string* room = string_field(doc, "room");
    if (room == nullptr) return fail(error_kind::bad_request, "room must be a string", ref);
    if (!is_valid_room_name(*room))
      return fail(error_kind::bad_request, "room must be 1 to 128 bytes without control characters", ref);
    req.room = *room;
  }
  if (*type == request_type::join) {
    if (auto it = doc.find("events"); it != doc.end()) {
      if (!it->is_boolean()) return fail(error_kind::bad_request, "events must be true or false", ref);
      req.events = it->get<bool>();
    }
  }
  if (*type == request_type::join || *type == request_type::history) {
    if (auto why = read_since(doc, req.since)) return fail(error_kind::bad_request, *why, ref);
  }
  if (*type == request_type::history) {
    if (auto it = doc.find("limit"); it != doc.end()) {
      if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > 1000000)
        return fail(error_kind::bad_request, "limit must be a whole number from 1 to 1000000", ref);
      req.limit = it->get<std::size_t>();
    }
  }
  if (*type == request_type::refresh) {
    const std::string* token = string_field(doc, "token");
    if (token == nullptr) return fail(error_kind::bad_request, "token must be a string", ref);
    req.token = *token;
  }
  if (needs_data) {
    auto it = doc.find("data");
    if (it == doc.end()) return fail(error_kind::bad_request, "data is missing", ref);
    req.data = it->dump();
  }
  return req;
}

}  // namespace switchboard::protocol
