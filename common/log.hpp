#pragma once
// One-line-per-event logging to stderr: "<time> <level> node=<n> worker=<w> <text>".

#include <string>
#include <string_view>

namespace switchboard::log {

enum class level { debug, info, warn, error };

// Set once per process (the master at start, each worker after fork).
void set_context(std::string node, std::string worker);
void set_threshold(level l);

void write(level l, std::string_view text);

inline void debug(std::string_view t) { write(level::debug, t); }
inline void info(std::string_view t) { write(level::info, t); }
inline void warn(std::string_view t) { write(level::warn, t); }
inline void error(std::string_view t) { write(level::error, t); }

}  // namespace switchboard::log
