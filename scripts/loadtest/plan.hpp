#pragma once
// How the work is shared among the load processes, and the check that each
// share fits the machine (open files per process, local ports per address).

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "scripts/loadtest/options.hpp"

namespace switchboard::load {

// One process's part of the run.
struct share {
  int index = 0;
  std::size_t connections = 0;     // sockets held at once (churn: loops, one socket each)
  std::size_t senders = 0;         // publishers (direct: pairs; churn: loops)
  std::size_t sender_base = 0;     // global index of the first sender, for the `p` stamp
  std::size_t rooms = 0;           // rooms scenario: rooms whose members are all in this process
  std::size_t room_base = 0;
};

struct plan {
  std::vector<share> shares;
  std::size_t total_senders = 0;   // the rate is spread over these
  std::size_t total_connections = 0;
  // Names this run's rooms, so that runs side by side do not share them.
  std::string run_tag;
};

// A plan that cannot run here; what() says which flag to change.
class plan_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Raises this process's open-file limit to its hard limit first (forked
// processes inherit it). Throws plan_error.
plan make_plan(const options& o);

}  // namespace switchboard::load
