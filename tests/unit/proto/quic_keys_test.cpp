#include "proto/quic_keys.h"

#include <gtest/gtest.h>

#include "proto_test_builders.h"
#include "quic_rfc_vectors.h"

namespace flightwall {
namespace {

using testing::FromHex;
using testing::ToHex;

struct KeyVector {
  QuicVersionKind version;
  const char* client_initial_secret;
  const char* key;
  const char* iv;
  const char* hp;
  const char* sample;  // header protection sample of the A.2 packet
  const char* mask;
};

// RFC 9001 A.1/A.2 and RFC 9369 A.1/A.2, DCID 0x8394c8f03e515708.
const KeyVector kVectors[] = {
    {QuicVersionKind::kV1, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
     "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
     "9f50449e04a0e810283a1e9933adedd2", "d1b1c98dd7689fb8ec11d242b123dc9b", "437b9aec36"},
    {QuicVersionKind::kV2, "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
     "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
     "45b95e15235d6f45a6b19cbcb0294ba9", "ffe67b6abcdb4298b485dd04de806071", "94a0c95e80"},
};

class QuicKeysVectorTest : public ::testing::TestWithParam<KeyVector> {};

TEST_P(QuicKeysVectorTest, ClientInitialSecretAndKeysMatchRfc) {
  const KeyVector& v = GetParam();
  QuicInitialCrypto crypto;
  ASSERT_TRUE(crypto.Ok());
  QuicInitialCrypto::Secret secret{};
  ASSERT_TRUE(crypto.DeriveClientInitialSecret(v.version, FromHex(testing::kRfcDcidHex), &secret));
  EXPECT_EQ(ToHex(secret), v.client_initial_secret);
  QuicPacketKeys keys;
  ASSERT_TRUE(crypto.DeriveKeys(v.version, secret, &keys));
  EXPECT_EQ(ToHex(keys.key), v.key);
  EXPECT_EQ(ToHex(keys.iv), v.iv);
  EXPECT_EQ(ToHex(keys.hp), v.hp);
}

TEST_P(QuicKeysVectorTest, HeaderProtectionMaskMatchesRfc) {
  const KeyVector& v = GetParam();
  QuicInitialCrypto crypto;
  QuicPacketKeys keys;
  ASSERT_TRUE(crypto.DeriveClientInitialKeys(v.version, FromHex(testing::kRfcDcidHex), &keys));
  ASSERT_TRUE(crypto.LoadKeys(keys));
  const testing::Bytes sample = FromHex(v.sample);
  std::array<std::uint8_t, 5> mask{};
  ASSERT_TRUE(
      crypto.HeaderProtectionMask(std::span<const std::uint8_t, 16>(sample.data(), 16), &mask));
  EXPECT_EQ(ToHex(mask), v.mask);
}

INSTANTIATE_TEST_SUITE_P(Rfc9001And9369, QuicKeysVectorTest, ::testing::ValuesIn(kVectors));

TEST(QuicKeysTest, ExpandLabelGivesRfcServerInitialSecret) {
  // RFC 9001 A.1: initial_secret, then "server in" -> server_initial_secret.
  QuicInitialCrypto crypto;
  const testing::Bytes initial_secret =
      FromHex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
  std::array<std::uint8_t, 32> server{};
  ASSERT_TRUE(crypto.HkdfExpandLabel(initial_secret, "server in", server));
  EXPECT_EQ(ToHex(server), "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");
  std::array<std::uint8_t, 32> client{};
  ASSERT_TRUE(crypto.HkdfExpandLabel(initial_secret, "client in", client));
  EXPECT_EQ(ToHex(client), "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
}

TEST(QuicKeysTest, ExpandLabelRejectsImpossibleLengths) {
  QuicInitialCrypto crypto;
  const testing::Bytes secret(32, 1);
  std::array<std::uint8_t, 256> too_long{};
  EXPECT_FALSE(crypto.HkdfExpandLabel(secret, "quic key", too_long));
  std::array<std::uint8_t, 16> out{};
  EXPECT_FALSE(crypto.HkdfExpandLabel(secret, std::string(250, 'x'), out));
  EXPECT_FALSE(crypto.HkdfExpandLabel({}, "quic key", out));
}

TEST(QuicKeysTest, Draft29DiffersFromV1AndUnknownVersionFails) {
  QuicInitialCrypto crypto;
  const testing::Bytes dcid = FromHex(testing::kRfcDcidHex);
  QuicPacketKeys v1, d29, d28;
  ASSERT_TRUE(crypto.DeriveClientInitialKeys(QuicVersionKind::kV1, dcid, &v1));
  ASSERT_TRUE(crypto.DeriveClientInitialKeys(QuicVersionKind::kDraft29, dcid, &d29));
  ASSERT_TRUE(crypto.DeriveClientInitialKeys(QuicVersionKind::kDraft28, dcid, &d28));
  EXPECT_NE(v1.key, d29.key);
  EXPECT_NE(d29.key, d28.key);
  QuicPacketKeys unknown;
  EXPECT_FALSE(crypto.DeriveClientInitialKeys(QuicVersionKind::kUnknown, dcid, &unknown));
  EXPECT_FALSE(
      crypto.DeriveClientInitialKeys(QuicVersionKind::kV1, testing::Bytes(21, 0), &unknown));
}

TEST(QuicKeysTest, ZeroLengthDcidDerives) {
  QuicInitialCrypto crypto;
  QuicPacketKeys keys;
  EXPECT_TRUE(crypto.DeriveClientInitialKeys(QuicVersionKind::kV1, {}, &keys));
  EXPECT_NE(keys.key, QuicPacketKeys{}.key);
}

TEST(QuicKeysTest, VersionTable) {
  EXPECT_EQ(QuicVersionKindOf(0x00000001), QuicVersionKind::kV1);
  EXPECT_EQ(QuicVersionKindOf(0x6b3343cf), QuicVersionKind::kV2);
  EXPECT_EQ(QuicVersionKindOf(0xff00001d), QuicVersionKind::kDraft29);
  EXPECT_EQ(QuicVersionKindOf(0xff00001c), QuicVersionKind::kDraft28);
  EXPECT_EQ(QuicVersionKindOf(0xff00001b), QuicVersionKind::kDraft28);
  EXPECT_EQ(QuicVersionKindOf(0), QuicVersionKind::kUnknown);
  EXPECT_EQ(QuicVersionKindOf(0x51303530), QuicVersionKind::kUnknown);  // gQUIC "Q050"
  EXPECT_EQ(QuicVersionKindOf(0xff00001e), QuicVersionKind::kUnknown);  // draft-30: not claimed

  // v2 reassigns the long-header type bits (RFC 9369 3.2).
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV1, 0xc0), QuicLongType::kInitial);
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV1, 0xf0), QuicLongType::kRetry);
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV2, 0xd0), QuicLongType::kInitial);
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV2, 0xc0), QuicLongType::kRetry);
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV2, 0xe0), QuicLongType::kZeroRtt);
  EXPECT_EQ(QuicLongTypeOf(QuicVersionKind::kV2, 0xf0), QuicLongType::kHandshake);
  EXPECT_EQ(QuicInitialTypeBits(QuicVersionKind::kV2), 1);
  EXPECT_EQ(QuicInitialTypeBits(QuicVersionKind::kDraft29), 0);
}

TEST(QuicKeysTest, OpenRejectsWrongTagAndNeedsKeys) {
  QuicInitialCrypto crypto;
  std::array<std::uint8_t, 32> sealed{};
  std::array<std::uint8_t, 16> plain{};
  EXPECT_FALSE(crypto.Open(0, {}, sealed, plain));  // no keys loaded yet
  QuicPacketKeys keys;
  ASSERT_TRUE(crypto.DeriveClientInitialKeys(QuicVersionKind::kV1, {}, &keys));
  ASSERT_TRUE(crypto.LoadKeys(keys));
  EXPECT_FALSE(crypto.Open(0, {}, sealed, plain));                       // all-zero tag is wrong
  EXPECT_FALSE(crypto.Open(0, {}, std::span(sealed).first(15), plain));  // shorter than a tag
  std::array<std::uint8_t, 8> small{};
  EXPECT_FALSE(crypto.Open(0, {}, sealed, small));  // output too small
}

}  // namespace
}  // namespace flightwall
