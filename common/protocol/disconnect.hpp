#pragma once
// The order that closes connections wherever they are (POST /api/disconnect),
// as it travels on the control channel every worker holds:
//
//   "1x" ("u" <user> | "i" <id>) "\n" <code, 4 digits> <reason>
//
// Neither a user id nor a client id holds a newline, so the header ends at
// the first one; the reason is the rest, as the close frame will carry it.

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::protocol {

struct disconnect_order {
  bool by_user = false;     // every connection of the user, else the one with the id
  std::string_view target;  // the user id or the client id
  int code = 4000;          // 4000-4999
  std::string_view reason;  // at most 123 bytes: what a close frame holds
};

inline constexpr std::size_t max_close_reason_bytes = 123;

std::string encode_disconnect(const disconnect_order& order);
// nullopt when the bytes are not such an order.
std::optional<disconnect_order> decode_disconnect(std::string_view bytes);

}  // namespace switchboard::protocol
