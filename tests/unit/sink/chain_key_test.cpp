#include "sink/chain_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "sink_test_helpers.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

using testing::TempDir;
using testing::WriteWholeFile;

std::string KeyFile(const TempDir& dir, std::size_t bytes, mode_t mode) {
  std::string path = dir.Path("chain.key");
  WriteWholeFile(path, std::string(bytes, 'k'));
  chmod(path.c_str(), mode);
  return path;
}

TEST(ChainKeyTest, ReadsAPrivateKeyFileExactly) {
  TempDir dir;
  ChainKey key;
  EXPECT_TRUE(IsOk(ReadChainKey(KeyFile(dir, 33, 0600), KeyFileCheck::kPrivate, &key)));
  ASSERT_EQ(key.Bytes().size(), 33u);
  EXPECT_EQ(key.Bytes()[32], 'k');
  EXPECT_TRUE(IsOk(ReadChainKey(KeyFile(dir, 32, 0640), KeyFileCheck::kPrivate, &key)));
  EXPECT_EQ(key.Bytes().size(), 32u);
}

TEST(ChainKeyTest, RefusesAShortOrHugeKeyAndSaysHowToMakeOne) {
  TempDir dir;
  ChainKey key;
  std::string why = ReadChainKey(KeyFile(dir, 31, 0600), KeyFileCheck::kReadable, &key).message();
  EXPECT_NE(why.find("is 31 bytes; a key is 32 to 4096 bytes"), std::string::npos) << why;
  EXPECT_NE(why.find("head -c 32 /dev/urandom"), std::string::npos) << why;
  EXPECT_TRUE(key.Empty());
  why = ReadChainKey(KeyFile(dir, 5000, 0600), KeyFileCheck::kReadable, &key).message();
  EXPECT_NE(why.find("5000 bytes"), std::string::npos) << why;
}

TEST(ChainKeyTest, TheDaemonRefusesAKeyEveryUserMayRead) {
  TempDir dir;
  ChainKey key;
  const std::string path = KeyFile(dir, 32, 0644);
  const std::string why = ReadChainKey(path, KeyFileCheck::kPrivate, &key).message();
  EXPECT_NE(why.find("mode 0644"), std::string::npos) << why;
  EXPECT_NE(why.find("chmod o-rw " + path), std::string::npos) << why;
  EXPECT_TRUE(key.Empty());
  // An auditor's copy only has to be readable.
  EXPECT_TRUE(IsOk(ReadChainKey(path, KeyFileCheck::kReadable, &key)));
  EXPECT_FALSE(key.Empty());
}

TEST(ChainKeyTest, NamesAMissingOrOddFile) {
  TempDir dir;
  ChainKey key;
  std::string why = ReadChainKey(dir.Path("missing.key"), KeyFileCheck::kReadable, &key).message();
  EXPECT_NE(why.find(dir.Path("missing.key")), std::string::npos) << why;
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
  why = ReadChainKey(dir.Path(""), KeyFileCheck::kReadable, &key).message();
  EXPECT_NE(why.find("not a regular file"), std::string::npos) << why;
}

TEST(ChainKeyTest, MovesLeaveNoCopyBehind) {
  const std::vector<std::uint8_t> bytes(32, 7);
  ChainKey a(bytes);
  ChainKey b(std::move(a));
  EXPECT_TRUE(a.Empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.Bytes().size(), 32u);
  ChainKey c;
  c = std::move(b);
  EXPECT_TRUE(b.Empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.Bytes()[0], 7);
}

}  // namespace
}  // namespace flightwall
