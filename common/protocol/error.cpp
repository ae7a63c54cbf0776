#include "common/protocol/error.hpp"

namespace switchboard::protocol {

// Every value below error_kind_count has a name and the next one has none,
// so a kind added without counting it (or counted without adding it) stops
// the build here rather than overrunning the metrics arrays.
static_assert(to_string(static_cast<error_kind>(error_kind_count - 1)) != "unknown" &&
                  to_string(static_cast<error_kind>(error_kind_count)) == "unknown",
              "error_kind_count must be one past the last error_kind");

}  // namespace switchboard::protocol
