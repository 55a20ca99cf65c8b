#include "common/byte_cursor.h"

#include <gtest/gtest.h>

#include <vector>

namespace flightwall {
namespace {

TEST(ByteCursorTest, ReadsBigEndianAndStopsAtEnd) {
  const std::vector<std::uint8_t> b = {0x01, 0x02, 0x03, 0x04, 0x05};
  ByteCursor c(b);
  EXPECT_EQ(c.U16(), 0x0102);
  EXPECT_EQ(c.U16(), 0x0304);
  EXPECT_TRUE(c.Ok());
  EXPECT_EQ(c.U16(), 0);  // only one byte left
  EXPECT_FALSE(c.Ok());
  EXPECT_EQ(c.U8(), 0);  // sticky failure
  EXPECT_EQ(c.Remaining(), 1u);
}

TEST(ByteCursorTest, VarIntAllLengths) {
  const std::vector<std::uint8_t> b = {0x25, 0x7b, 0xbd, 0x9d, 0x7f, 0x3e, 0x7d, 0xc2,
                                       0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
  ByteCursor c(b);
  EXPECT_EQ(c.VarInt(), 37u);
  EXPECT_EQ(c.VarInt(), 15293u);
  EXPECT_EQ(c.VarInt(), 494878333u);
  EXPECT_EQ(c.VarInt(), 151288809941952652ull);
  EXPECT_TRUE(c.Ok());
  EXPECT_EQ(c.Remaining(), 0u);
}

TEST(ByteCursorTest, TruncatedVarIntFails) {
  const std::vector<std::uint8_t> b = {0xc2, 0x19};
  ByteCursor c(b);
  EXPECT_EQ(c.VarInt(), 0u);
  EXPECT_FALSE(c.Ok());
}

TEST(ByteCursorTest, BytesAndSeekAreBounded) {
  const std::vector<std::uint8_t> b = {1, 2, 3};
  ByteCursor c(b);
  EXPECT_EQ(c.Bytes(4).size(), 0u);
  EXPECT_FALSE(c.Ok());
  ByteCursor d(b);
  EXPECT_TRUE(d.Seek(3));
  EXPECT_FALSE(d.Seek(4));
}

}  // namespace
}  // namespace flightwall
