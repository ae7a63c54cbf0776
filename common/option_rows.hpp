#pragma once
// The flags of parse_config as a table, one row per flag, in the manner of
// nginx's ngx_command_t: the flag's name, the kind that parses it into one
// config member, the allowed range and the help. Defaults are not written
// here: --help shows each member's value in config{}, so the help and the
// defaults cannot drift apart, and a new flag is one more row.

#include <limits>
#include <span>
#include <string>

#include "common/config.hpp"

namespace boost::program_options {
class value_semantic;
class variable_value;
}  // namespace boost::program_options

namespace switchboard {

struct option_row;

// How one kind of flag (a count, a byte size, a duration, ...) reads into
// one config member; option_rows.cpp instantiates one per member.
struct option_kind {
  // The member's value in `cfg` as the flag is written: "64KiB", "3", "yes".
  std::string (*show)(const config& cfg);
  // The flag's value for boost::program_options, defaulting to show(defaults).
  boost::program_options::value_semantic* (*declare)(const config& defaults);
  // Checks the given (or default) value and stores it in `cfg`; throws
  // config_error naming the flag and saying why.
  void (*store)(const option_row& row, const boost::program_options::variable_value& value, config& cfg);
};

// One flag.
struct option_row {
  const char* name;  // without "--"; SWITCHBOARD_<NAME> in the environment
  const option_kind* kind;
  // The allowed range in the flag's unit (bytes, seconds, ...), for the
  // kinds that have one. Without an upper bound, `zero` says what 0 means.
  double min = 0;
  double max = std::numeric_limits<double>::infinity();
  const char* zero = nullptr;
  const char* help = "";
};

// Every flag but --help, in the order --help lists them and parse_config
// checks them.
std::span<const option_row> option_rows();

}  // namespace switchboard
