// The worker's one expiry timer: sessions expire when their second comes,
// earliest first; a rescheduled or cancelled one does not expire early, and
// a destroyed one leaves the wheel by itself.
#include "server/net/expiry_wheel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/wall_clock.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;

class fake_session final : public expiring {
 public:
  fake_session(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
  void expire() override { log_.push_back(name_); }

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

class expiry_wheel_test : public ::testing::Test {
 protected:
  testing::test_loop loop_;
  expiry_wheel wheel_{loop_.context().get_executor()};
  std::vector<std::string> expired_;
};

TEST_F(expiry_wheel_test, a_deadline_passed_already_expires_at_once) {
  fake_session a("a", expired_);
  wheel_.schedule(a, epoch_seconds() - 10);
  ASSERT_TRUE(loop_.run_until([&] { return !expired_.empty(); }, 2s));
  EXPECT_EQ(expired_, std::vector<std::string>{"a"});
}

TEST_F(expiry_wheel_test, earlier_deadlines_expire_first_and_later_ones_wait) {
  fake_session late("late", expired_);
  fake_session soon("soon", expired_);
  fake_session past("past", expired_);
  auto now = epoch_seconds();
  wheel_.schedule(late, now + 3600);
  wheel_.schedule(soon, now + 1);
  wheel_.schedule(past, now - 1);  // arms earlier than the wait under way
  ASSERT_TRUE(loop_.run_until([&] { return expired_.size() == 2; }, 5s));
  EXPECT_EQ(expired_, (std::vector<std::string>{"past", "soon"}));
  loop_.run_for(200ms);
  EXPECT_EQ(expired_.size(), 2u) << "the hour-long deadline expired early";
}

TEST_F(expiry_wheel_test, a_rescheduled_session_expires_at_its_new_deadline_only) {
  fake_session a("a", expired_);
  auto now = epoch_seconds();
  wheel_.schedule(a, now - 1);
  wheel_.schedule(a, now + 3600);  // a refresh before the timer ran
  loop_.run_for(300ms);
  EXPECT_TRUE(expired_.empty());
  wheel_.schedule(a, now - 1);
  ASSERT_TRUE(loop_.run_until([&] { return !expired_.empty(); }, 2s));
  EXPECT_EQ(expired_, std::vector<std::string>{"a"}) << "expired once, not once per schedule";
}

TEST_F(expiry_wheel_test, cancelled_and_destroyed_sessions_never_expire) {
  fake_session kept("kept", expired_);
  fake_session cancelled("cancelled", expired_);
  auto gone = std::make_unique<fake_session>("gone", expired_);
  auto now = epoch_seconds();
  wheel_.schedule(cancelled, now);
  wheel_.schedule(*gone, now);
  wheel_.schedule(kept, now);
  expiry_wheel::cancel(cancelled);
  gone.reset();
  ASSERT_TRUE(loop_.run_until([&] { return !expired_.empty(); }, 3s));
  loop_.run_for(100ms);
  EXPECT_EQ(expired_, std::vector<std::string>{"kept"});
}

TEST_F(expiry_wheel_test, many_sessions_of_one_second_all_expire) {
  std::vector<std::unique_ptr<fake_session>> sessions;
  auto now = epoch_seconds();
  for (int i = 0; i < 1000; ++i) {
    sessions.push_back(std::make_unique<fake_session>(std::to_string(i), expired_));
    wheel_.schedule(*sessions.back(), now - (i % 3));
  }
  ASSERT_TRUE(loop_.run_until([&] { return expired_.size() == 1000; }, 3s)) << expired_.size();
}

}  // namespace
}  // namespace switchboard
