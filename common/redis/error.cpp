#include "common/redis/error.hpp"

#include <string>

namespace switchboard::redis {
namespace {

class redis_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::unavailable: return "redis is unavailable";
      case errc::protocol_error: return "redis protocol error";
      case errc::server_error: return "redis replied with an error";
      case errc::timeout: return "redis did not answer in time";
      case errc::closed: return "redis connection closed";
      case errc::not_primary: return "redis server is not the primary";
    }
    return "unknown redis error";
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const redis_category instance;
  return instance;
}

}  // namespace switchboard::redis
