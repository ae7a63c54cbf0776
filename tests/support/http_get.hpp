#pragma once
// One-shot HTTP/1.1 requests against the server on loopback, bounded in
// time. The target is sent byte for byte, "/../" included.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::testing {

struct http_response {
  unsigned status = 0;  // 0: no answer (refused, reset or timed out); see `error`
  std::string content_type;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;
};

using http_headers = std::vector<std::pair<std::string, std::string>>;

http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const http_headers& headers = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
// With a body (sent with its Content-Length).
http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const http_headers& headers, std::string body,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));

http_response http_get(std::uint16_t port, std::string_view path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace switchboard::testing
