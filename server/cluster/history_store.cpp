#include "server/cluster/history_store.hpp"

#include <algorithm>
#include <charconv>

#include <openssl/evp.h>

#include "common/redis/error.hpp"
#include "common/text_list.hpp"

namespace switchboard {
namespace {

// One script for every use, so that one cached copy serves them all.
// KEYS: meta, stream. ARGV[1]: the epoch to make if the room's history is
// gone (history_store.hpp says when); ARGV[2]: the TTL in ms; ARGV[3]: what
// to do.
//   append:  ARGV[4] the room's size, [5] the channel, [6] the envelope's
//            letter and [7] its target (envelope.hpp), [8] the frame without
//            its closing brace, [9] PUBLISH or SPUBLISH (Redis Cluster: the
//            channel shares the keys' slot); returns {offset, epoch}.
//   recover, page: ARGV[4], [5] the since offset and epoch ("" and "" when
//            none), [6] the page's limit; returns {epoch, offset, outcome,
//            frames...}, the outcome "" for a page or a join without since.
constexpr std::string_view history_script = R"lua(
local place = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local epoch, offset = place[1], tonumber(place[2] or '0')
if not epoch or (offset > 0 and redis.call('EXISTS', KEYS[2]) == 0) then
  epoch, offset = ARGV[1], 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if ARGV[3] == 'append' then
  offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
  local frame = ARGV[8] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], offset .. '-0', 'f', frame)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call(ARGV[9], ARGV[5], '1' .. ARGV[6] .. offset .. ' ' .. ARGV[7] .. '\n' .. frame)
  return {offset, epoch}
end
local out = {epoch, offset, ''}
local function add_frames(entries)
  for _, entry in ipairs(entries) do out[#out + 1] = entry[2][2] end
end
local has_since = ARGV[5] ~= ''
local since = tonumber(ARGV[4]) or 0
if ARGV[3] == 'recover' then
  if not has_since then return out end
  if ARGV[5] ~= epoch or since > offset then out[3] = 'epoch_changed'; return out end
  if since < offset then
    local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
    if not first or tonumber(string.match(first[1], '^%d+')) > since + 1 then out[3] = 'too_old'; return out end
    add_frames(redis.call('XRANGE', KEYS[2], tostring(since + 1), '+'))
  end
  out[3] = 'recovered'
  return out
end
if has_since and ARGV[5] == epoch then
  add_frames(redis.call('XRANGE', KEYS[2], tostring(since + 1), '+', 'COUNT', ARGV[6]))
elseif has_since then
  add_frames(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[6]))
else
  local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[6])
  for i = #newest, 1, -1 do out[#out + 1] = newest[i][2][2] end
end
return out
)lua";

std::optional<protocol::recovery_outcome> outcome_named(std::string_view name) {
  using protocol::recovery_outcome;
  for (std::size_t i = 0; i < protocol::recovery_outcome_count; ++i)
    if (to_string(static_cast<recovery_outcome>(i)) == name) return static_cast<recovery_outcome>(i);
  return std::nullopt;
}

std::optional<std::uint64_t> offset_of(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER && r.integer >= 0) return static_cast<std::uint64_t>(r.integer);
  if (r.type != REDIS_REPLY_STRING) return std::nullopt;
  std::uint64_t n = 0;
  auto text = redis::text_of(r);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// The SHA-1 that EVALSHA names the script by, in hex.
std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

bool is_noscript(const redis::reply_ptr& reply) {
  return reply && reply->type == REDIS_REPLY_ERROR && redis::text_of(*reply).starts_with("NOSCRIPT");
}

}  // namespace

history_store::history_store(bus& b, const redis_keys& keys, const config& cfg)
    : bus_(b),
      keys_(keys),
      rooms_(split_list(cfg.history_rooms)),
      size_(cfg.history_size),
      ttl_ms_(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.history_ttl).count())),
      script_sha_(sha1_hex(history_script)),
      random_(std::random_device{}()) {
  if (!rooms_.empty()) bus_.preload_script(history_script);
}

std::string history_store::new_epoch() {
  char text[17];
  auto [end, ec] = std::to_chars(text, text + 16, random_(), 16);
  // Fixed width, so that every epoch has the same shape.
  std::string epoch(static_cast<std::size_t>(16 - (end - text)), '0');
  epoch.append(text, end);
  return epoch;
}

asio::awaitable<redis::connection::result> history_store::run(std::vector<std::string> args, bool publishing) {
  // By its SHA-1 first: the script's text travels only when Redis lacks it
  // (a new or restarted Redis; the publishing connection loads it on
  // connect, so there only a SCRIPT FLUSH meanwhile brings NOSCRIPT).
  std::vector<std::string_view> argv{"EVALSHA", script_sha_, "2"};
  argv.insert(argv.end(), args.begin(), args.end());
  for (int attempt = 0;; ++attempt) {
    // Not a conditional around the co_awaits: GCC 12 mishandles those.
    redis::connection::result result;
    if (publishing) result = co_await bus_.publish_command(argv);
    else result = co_await bus_.pool().request(argv);
    if (attempt == 1 || !is_noscript(std::get<1>(result))) co_return result;
    argv[0] = "EVAL";
    argv[1] = history_script;
  }
}

std::vector<std::string> history_store::append_arguments(const stored_message& m) {
  std::string letter = m.kind == protocol::scope::user ? "U" : "R";
  return {keys_.history_meta(m.room), keys_.history_stream(m.room), new_epoch(), ttl_ms_, "append",
          std::to_string(size_), m.channel, letter, m.target, m.frame_head, std::string(bus_.publish_verb())};
}

std::vector<std::string> history_store::append_command(const stored_message& m) {
  // The text, not the SHA-1: inside MULTI a NOSCRIPT could not be retried,
  // and the transaction would be only partly done.
  std::vector<std::string> command{"EVAL", std::string(history_script), "2"};
  auto args = append_arguments(m);
  command.insert(command.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return command;
}

std::optional<protocol::stream_position> history_store::appended_at(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return std::nullopt;
  auto offset = offset_of(*reply->element[0]);
  if (!offset || reply->element[1]->type != REDIS_REPLY_STRING) return std::nullopt;
  return protocol::stream_position{*offset, std::string(redis::text_of(*reply->element[1]))};
}

asio::awaitable<history_store::appended> history_store::append(const stored_message& m) {
  auto [ec, reply] = co_await run(append_arguments(m), true);
  if (ec) co_return appended{make_error_code(redis::errc::unavailable), {}};
  auto at = appended_at(reply.get());
  if (!at) co_return appended{make_error_code(redis::errc::protocol_error), {}};
  co_return appended{{}, std::move(*at)};
}

asio::awaitable<history_store::read_result> history_store::recover(
    const std::string& room, const std::optional<protocol::stream_position>& since) {
  co_return co_await read(room, "recover", since, 0);
}

asio::awaitable<history_store::read_result> history_store::page(
    const std::string& room, const std::optional<protocol::stream_position>& since, std::size_t limit) {
  std::size_t count = limit == 0 ? size_ : std::min(limit, size_);
  co_return co_await read(room, "page", since, count);
}

asio::awaitable<history_store::read_result> history_store::read(
    const std::string& room, std::string mode, const std::optional<protocol::stream_position>& since,
    std::size_t limit) {
  // An epoch is never empty or "-": "" says there was no since.
  std::string since_epoch;
  if (since) since_epoch = since->epoch.empty() ? "-" : since->epoch;
  std::vector<std::string> args{keys_.history_meta(room), keys_.history_stream(room), new_epoch(), ttl_ms_,
                                std::move(mode), since ? std::to_string(since->offset) : std::string(),
                                std::move(since_epoch), std::to_string(limit)};
  auto [ec, reply] = co_await run(std::move(args), false);
  read_result out;
  out.ec = ec;
  if (ec) co_return out;
  std::optional<std::uint64_t> offset;
  if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3 &&
      reply->element[0]->type == REDIS_REPLY_STRING && reply->element[2]->type == REDIS_REPLY_STRING)
    offset = offset_of(*reply->element[1]);
  if (!offset) {
    out.ec = make_error_code(redis::errc::protocol_error);
    co_return out;
  }
  out.now = protocol::stream_position{*offset, std::string(redis::text_of(*reply->element[0]))};
  out.outcome = outcome_named(redis::text_of(*reply->element[2]));
  for (std::size_t i = 3; i < reply->elements; ++i) out.frames.emplace_back(redis::text_of(*reply->element[i]));
  co_return out;
}

}  // namespace switchboard
