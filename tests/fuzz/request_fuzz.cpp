// libFuzzer target: a client's text frame through the request parser, and
// the frames built from what it accepts. Whatever the bytes, parsing must
// not crash, and an accepted request must satisfy the protocol's rules.

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "common/protocol/frames.hpp"
#include "common/protocol/request.hpp"

using namespace switchboard::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = parse_request(text);
  if (auto* error = std::get_if<request_error>(&result)) {
    // An error frame is always valid JSON, whatever the input was.
    auto frame = error_frame(error->kind, error->message, error->ref);
    if (!nlohmann::json::accept(frame)) std::abort();
    return 0;
  }
  const auto& req = std::get<request>(result);
  if (!req.to.empty() && !is_valid_client_id(req.to)) std::abort();
  // `data` is re-serialised JSON: it must parse again.
  if (!req.data.empty() && !nlohmann::json::accept(req.data)) std::abort();
  return 0;
}
