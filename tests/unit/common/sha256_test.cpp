#include "common/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flightwall {
namespace {

std::vector<std::uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Sha256Test, KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231, test cases 2 and 6 (a key longer than the block is hashed first).
TEST(HmacSha256HasherTest, Rfc4231KnownAnswers) {
  HmacSha256Hasher jefe(Bytes("Jefe"));
  jefe.Update("what do ya want ");
  jefe.Update("for nothing?");
  EXPECT_EQ(jefe.FinalHex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  HmacSha256Hasher long_key(std::vector<std::uint8_t>(131, 0xaa));
  long_key.Update("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(long_key.FinalHex(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256HasherTest, KeepsItsKeyAcrossMessages) {
  HmacSha256Hasher h(Bytes("Jefe"));
  h.Update("first message");
  const std::string first = h.FinalHex();
  h.Update("what do ya want for nothing?");
  EXPECT_EQ(h.FinalHex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  h.Update("first message");
  EXPECT_EQ(h.FinalHex(), first);
  EXPECT_NE(first, Sha256Hex("first message"));
}

}  // namespace
}  // namespace flightwall
