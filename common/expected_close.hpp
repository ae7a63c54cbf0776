#pragma once
// The one list of errors that end a connection the ordinary way (the peer
// closed or went away, a deadline passed, we cancelled): they are not
// worth a log line, and not worth an error response to a peer that is gone.

#include "common/net.hpp"

namespace switchboard {

bool is_expected_close(const error_code& ec);

}  // namespace switchboard
