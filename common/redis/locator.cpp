#include "common/redis/locator.hpp"

namespace switchboard::redis {
namespace {

class static_locator final : public locator {
 public:
  explicit static_locator(endpoint where) : where_(std::move(where)) {}
  asio::awaitable<std::pair<error_code, endpoint>> locate() override { co_return std::pair{error_code{}, where_}; }
  std::string describe() const override { return where_.describe(); }

 private:
  endpoint where_;
};

}  // namespace

std::shared_ptr<locator> fixed_locator(endpoint where) { return std::make_shared<static_locator>(std::move(where)); }

}  // namespace switchboard::redis
