#include "scripts/loadtest/frame_scan.hpp"

#include <gtest/gtest.h>

namespace switchboard::load {
namespace {

TEST(FrameScan, ClassifiesServerFrames) {
  EXPECT_EQ(classify(R"({"type":"message","scope":"broadcast","from":"a.1","data":{}})"), frame_kind::message);
  EXPECT_EQ(classify(R"({"type":"ack","ref":3})"), frame_kind::ack);
  EXPECT_EQ(classify(R"({"type":"error","code":"rate_limited","message":"x","ref":2})"), frame_kind::error);
  EXPECT_EQ(classify(R"({"type":"pong"})"), frame_kind::pong);
  EXPECT_EQ(classify(R"({"type":"welcome","id":"a.1","node":"n","worker":0})"), frame_kind::welcome);
  EXPECT_EQ(classify(R"({"type":"presence","room":"r","members":[]})"), frame_kind::presence);
  EXPECT_EQ(classify(R"({"type":"messages"})"), frame_kind::other);
  EXPECT_EQ(classify("not json"), frame_kind::other);
}

TEST(FrameScan, FindsTheStampWhateverTheKeyOrder) {
  // The server re-serialises data with sorted keys.
  auto st = scan_stamp(
      R"({"type":"message","scope":"room","from":"ab.7","room":"load.x.3","data":{"p":3,"r":12,"s":42,"t":123456789,"x":"xxx"}})");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->t, 123456789);
  EXPECT_EQ(st->p, 3);
  EXPECT_EQ(st->s, 42);
  EXPECT_EQ(st->r, 12);
}

TEST(FrameScan, IgnoresFieldsBeforeData) {
  // "to" and "type" must not be taken for "t".
  auto st = scan_stamp(R"({"type":"message","scope":"direct","from":"a.1","to":"b.2","data":{"t": 5,"p":0,"s":1}})");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->t, 5);
  EXPECT_EQ(st->r, -1);
}

TEST(FrameScan, ForeignDeliveriesHaveNoStamp) {
  EXPECT_FALSE(scan_stamp(R"({"type":"message","scope":"broadcast","from":"server","data":"hello"})"));
  EXPECT_FALSE(scan_stamp(R"({"type":"message","scope":"broadcast","from":"a","data":{"t":1,"p":2}})"));
}

TEST(FrameScan, ReadsRefsAndCodes) {
  EXPECT_EQ(scan_int(R"({"type":"ack","ref":77})", "\"ref\":"), 77);
  EXPECT_FALSE(scan_int(R"({"type":"ack","ref":"abc"})", "\"ref\":"));
  EXPECT_FALSE(scan_int(R"({"type":"error"})", "\"ref\":"));
  EXPECT_EQ(scan_string(R"({"type":"error","code":"unavailable","message":"m"})", "\"code\":\""), "unavailable");
  EXPECT_FALSE(scan_string(R"({"type":"error","code":"unterminated)", "\"code\":\""));
}

}  // namespace
}  // namespace switchboard::load
