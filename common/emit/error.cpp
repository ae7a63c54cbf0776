#include "common/emit/error.hpp"

#include <string>

#include "common/emit/bus_message.hpp"

namespace switchboard::emit {
namespace {

class emit_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "emit"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::bad_room: return "room must be 1 to 128 bytes of UTF-8 without control characters";
      case errc::bad_user: return "user must be 1 to 128 bytes of UTF-8 without control characters";
      case errc::bad_id: return "connection id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -";
      case errc::bad_json: return "data is not one valid JSON value";
      case errc::too_deep:
        return "data nests deeper than " + std::to_string(max_data_depth) + " levels";
      case errc::bad_scope: return "scope must be broadcast, room, user or direct";
    }
    return "unknown emit error";
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const emit_category instance;
  return instance;
}

}  // namespace switchboard::emit
