#include "common/protocol/client_id.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

#include "common/protocol/request.hpp"

namespace switchboard::protocol {
namespace {

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(client_id, worker_key_is_16_lowercase_hex_digits) {
  for (int i = 0; i < 100; ++i) {
    std::string key = make_worker_key();
    EXPECT_EQ(key.size(), 16u);
    EXPECT_TRUE(is_lower_hex(key)) << key;
  }
}

TEST(client_id, two_worker_keys_differ) {
  std::unordered_set<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.insert(make_worker_key());
  EXPECT_EQ(keys.size(), 1000u);
}

TEST(client_id, generator_ids_are_unique_and_valid) {
  client_id_generator gen(make_worker_key());
  std::unordered_set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    std::string id = gen.next();
    EXPECT_TRUE(is_valid_client_id(id)) << id;
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
  }
}

TEST(client_id, generators_with_different_keys_never_collide) {
  client_id_generator a(make_worker_key());
  client_id_generator b(make_worker_key());
  ASSERT_NE(a.worker_key(), b.worker_key());
  for (int i = 0; i < 100; ++i) EXPECT_NE(a.next(), b.next());
}

TEST(client_id, format) {
  client_id_generator gen("0123456789abcdef");
  EXPECT_EQ(gen.next(), "0123456789abcdef.1");
  EXPECT_EQ(gen.next(), "0123456789abcdef.2");
  EXPECT_EQ(gen.worker_key(), "0123456789abcdef");
}

TEST(client_id, worker_key_of_accepts_ours) {
  client_id_generator gen(make_worker_key());
  for (int i = 0; i < 20; ++i) {
    std::string id = gen.next();
    EXPECT_EQ(worker_key_of(id), gen.worker_key()) << id;
  }
  EXPECT_EQ(worker_key_of("0123456789abcdef.18446744073709551615"), "0123456789abcdef");
}

TEST(client_id, worker_key_of_rejects_malformed) {
  for (const char* id : {"", "x", "0123456789abcdef", "0123456789abcdef.", "0123456789abcde.1",
                         "0123456789abcdef0.1", "0123456789ABCDEF.1", "0123456789abcdeg.1", "0123456789abcdef.1a",
                         "0123456789abcdef.-1", "0123456789abcdef:1", "0123456789abcdef.1.2", ".0123456789abcdef.1",
                         "server"})
    EXPECT_EQ(worker_key_of(id), std::nullopt) << id;
}

}  // namespace
}  // namespace switchboard::protocol
