#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace flightwall {
namespace {

TEST(StatusTest, DefaultIsOkAndCarriesNothing) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.file(), "");
  EXPECT_EQ(s.line(), 0);
  EXPECT_EQ(s.column(), 0);
  EXPECT_FALSE(s.packet().has_value());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorWithoutLocationIsJustTheMessage) {
  Status s = Status::Error("no capture given: name at least one pcap file");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "no capture given: name at least one pcap file");
  EXPECT_EQ(s.ToString(), "no capture given: name at least one pcap file");
}

TEST(StatusTest, FileLineAndColumnArePrefixedAsCompilersDo) {
  EXPECT_EQ(Status::InFile("p.yaml", "cannot open: check the path").ToString(),
            "p.yaml: cannot open: check the path");
  Status at = Status::AtLine("p.yaml", 12, 3, "unknown key 'alow': did you mean 'allow'?");
  EXPECT_EQ(at.file(), "p.yaml");
  EXPECT_EQ(at.line(), 12);
  EXPECT_EQ(at.column(), 3);
  EXPECT_EQ(at.message(), "unknown key 'alow': did you mean 'allow'?");
  EXPECT_EQ(at.ToString(), "p.yaml:12:3: unknown key 'alow': did you mean 'allow'?");
  EXPECT_EQ(Status::AtLine("p.yaml", 12, 0, "m").ToString(), "p.yaml:12: m");
}

TEST(StatusTest, PacketNumberIsALocation) {
  Status s = Status::AtPacket("cut.pcap", 12, "truncated record");
  EXPECT_EQ(s.packet(), 12u);
  EXPECT_EQ(s.ToString(), "cut.pcap: packet 12: truncated record");
  EXPECT_EQ(Status::AtPacket("", 7, "m").ToString(), "packet 7: m");
}

TEST(StatusDeathTest, AnErrorNeedsAMessage) {
  EXPECT_DEATH((void)Status::Error(""), "without a message");
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::Error(std::to_string(n) + " is odd: pass an even number");
  return n / 2;
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
}

TEST(ResultTest, HoldsTheStatusWhenThereIsNoValue) {
  Result<int> r = Half(3);
  ASSERT_FALSE(r.ok());
  // status() is a reference into the Result, so its message may be kept.
  const std::string& kept = r.status().message();
  EXPECT_EQ(kept, "3 is odd: pass an even number");
  EXPECT_TRUE(Half(4).status().ok());
}

TEST(ResultTest, MoveOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 3u);
  std::unique_ptr<std::string> taken = std::move(r).value();
  EXPECT_EQ(*taken, "abc");
  Result<std::string> s = std::string("xyz");
  EXPECT_EQ(s->size(), 3u);
}

TEST(ResultDeathTest, ValueOfAFailedResultAborts) {
  Result<int> r = Half(3);
  EXPECT_DEATH((void)r.value(), "value\\(\\) of a failed Result \\(3 is odd");
}

TEST(ResultDeathTest, AnOkStatusIsNotAnError) {
  EXPECT_DEATH((void)Result<int>(Status()), "Result built from an ok Status");
}

}  // namespace
}  // namespace flightwall
