#include "common/auth/refusal.hpp"

namespace switchboard::auth {

// Every value below refusal_count has a name and the next one has none, so a
// reason added without counting it stops the build here rather than
// overrunning the metrics array.
static_assert(to_string(static_cast<refusal>(refusal_count - 1)) != "unknown" &&
                  to_string(static_cast<refusal>(refusal_count)) == "unknown",
              "refusal_count must be one past the last refusal");

}  // namespace switchboard::auth
