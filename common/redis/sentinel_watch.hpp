#pragma once
// Listens to every sentinel of a group for +switch-master of one master
// name. Every sentinel announces a failover once it knows of it, the leader
// first and the others up to a couple of seconds later, so listening to all
// of them hears the earliest. Each listener reconnects by itself.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/client.hpp"
#include "common/redis/sentinel_group.hpp"

namespace switchboard::redis {

class sentinel_watch {
 public:
  // "host:port" of the old and the new primary, as the sentinel wrote them.
  using switch_handler = std::function<void(const std::string& from, const std::string& to)>;

  sentinel_watch(asio::any_io_executor ex, const sentinel_group& group, switch_handler on_switch);

  void start();
  void stop();

  // Reads one +switch-master payload, "<name> <old ip> <old port> <new ip>
  // <new port>"; false when it is malformed or of another master.
  static bool parse_switch(std::string_view payload, std::string_view master_name, std::string& from,
                           std::string& to);

 private:
  void handle_push(reply_ptr reply);

  std::string master_name_;
  switch_handler on_switch_;
  std::vector<std::unique_ptr<client>> listeners_;
};

}  // namespace switchboard::redis
