#pragma once
// A one-shot HTTP/1.1 GET against the server on loopback, bounded in time.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::testing {

struct http_response {
  unsigned status = 0;  // 0: no answer (refused, reset or timed out); see `error`
  std::string content_type;
  std::string body;
  std::string error;
};

http_response http_get(std::uint16_t port, std::string_view path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace switchboard::testing
