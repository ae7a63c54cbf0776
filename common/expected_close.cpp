#include "common/expected_close.hpp"

namespace switchboard {

bool is_expected_close(const error_code& ec) {
  return ec == websocket::error::closed || ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout;
}

}  // namespace switchboard
