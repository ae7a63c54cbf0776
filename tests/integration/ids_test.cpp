// Client ids: well-formed, unique across workers and across restarts.

#include <regex>
#include <set>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

constexpr int connections = 40;

// Connects `connections` clients and checks their ids; returns the ids.
std::set<std::string> connect_many(test_loop& loop, const std::string& url) {
  static const std::regex id_pattern("[A-Za-z0-9._:-]{1,64}");
  std::vector<ws_client> clients;
  std::set<std::string> ids;
  std::set<int> workers;
  for (int i = 0; i < connections; ++i) {
    ws_client& client = clients.emplace_back(loop);
    client.connect(url);
    EXPECT_TRUE(std::regex_match(client.id(), id_pattern)) << "malformed id '" << client.id() << "'";
    EXPECT_TRUE(ids.insert(client.id()).second) << "id " << client.id() << " handed out twice";
    workers.insert(client.worker());
  }
  // 40 connections all landing on one of two workers: odds of 2^-39.
  EXPECT_EQ(workers, (std::set<int>{0, 1})) << "the connections did not reach both workers";
  return ids;
}

TEST_F(cluster_test, ids_are_unique_well_formed_and_never_reused_after_a_restart) {
  start_server();
  auto first = connect_many(loop_, server().ws_url());

  server().stop();
  server().start();
  auto second = connect_many(loop_, server().ws_url());
  for (const auto& id : second) EXPECT_EQ(first.count(id), 0u) << "id " << id << " reused after a restart";
}

}  // namespace
}  // namespace switchboard::testing
