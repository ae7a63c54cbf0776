// The disconnect order's wire form: what is encoded decodes to the same
// order, and anything else is refused.
#include "common/protocol/disconnect.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::protocol {
namespace {

TEST(disconnect, round_trip_by_user_and_by_id) {
  for (const disconnect_order& order : {disconnect_order{true, "alice", 4003, "banned"},
                                        disconnect_order{false, "0123456789abcdef.7", 4999, ""}}) {
    auto bytes = encode_disconnect(order);
    auto back = decode_disconnect(bytes);
    ASSERT_TRUE(back) << bytes;
    EXPECT_EQ(back->by_user, order.by_user);
    EXPECT_EQ(back->target, order.target);
    EXPECT_EQ(back->code, order.code);
    EXPECT_EQ(back->reason, order.reason);
  }
  EXPECT_EQ(encode_disconnect({true, "alice", 4000, "bye"}), "1xualice\n4000bye");
}

TEST(disconnect, anything_else_is_refused) {
  for (const std::string& bad : std::vector<std::string>{"", "1x", "1xualice", "1xu\n4000", "1xzalice\n4000", "2xualice\n4000",
                          "1xualice\n3999", "1xualice\n5000", "1xualice\n40a0", "1xualice\n400",
                          "1xualice\n4000" + std::string(124, 'r')})
    EXPECT_FALSE(decode_disconnect(bad)) << bad;
}

}  // namespace
}  // namespace switchboard::protocol
