#pragma once
// Client ids: "<worker key>.<sequence>", e.g. "3f9a0c21d4e5b678.42".
//
// The worker key is 16 hex digits drawn at random when a worker process
// starts, so ids are unique across the cluster and across restarts without
// any coordination, and a direct message finds the worker that owns its
// target from the id alone.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::protocol {

// A fresh random worker key (16 lowercase hex digits).
std::string make_worker_key();

class client_id_generator {
 public:
  explicit client_id_generator(std::string worker_key) : key_(std::move(worker_key)) {}
  std::string next();
  const std::string& worker_key() const { return key_; }

 private:
  std::string key_;
  std::uint64_t sequence_ = 0;
};

// The worker key inside an id, or nullopt when the id cannot be one of ours
// (then no client has it, and a message to it is dropped).
std::optional<std::string_view> worker_key_of(std::string_view id);

}  // namespace switchboard::protocol
