#include "common/spawn.hpp"

#include <cstdlib>
#include <exception>
#include <string>

#include "common/log.hpp"

namespace switchboard {

void fail_on_exception(std::exception_ptr e, std::string_view what) {
  if (!e) return;
  std::string reason = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    reason = ex.what();
  } catch (...) {
  }
  log::error(std::string(what) + " failed: " + reason + "; aborting");
  std::abort();
}

}  // namespace switchboard
