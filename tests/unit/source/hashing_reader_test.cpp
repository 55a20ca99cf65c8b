// A capture is hashed as it is read: the digest covers every byte of the
// file whatever part of it the reader consumed.
#include "source/hashing_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace flightwall {
namespace {

namespace fs = std::filesystem;

class HashingReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "flightwall-hash-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  // A file of n bytes that differ from one place to the next.
  int Write(std::size_t n, std::string* bytes) {
    bytes->resize(n);
    for (std::size_t i = 0; i < n; ++i) (*bytes)[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    const std::string path = (fs::path(dir_) / "f.bin").string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << *bytes;
    return open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  std::string dir_;
};

TEST_F(HashingReaderTest, DigestCoversTheWholeFileHoweverLittleWasRead) {
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{100000}, std::size_t{5} * 1024 * 1024 + 17}) {
    for (const std::size_t consume : {std::size_t{0}, std::size_t{24}, size}) {
      if (consume > size) continue;
      std::string bytes;
      auto opened = HashingReader::Open(Write(size, &bytes), size);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      auto& r = *opened;
      // Read in odd pieces, as libpcap reads records.
      std::vector<char> buf(4099);
      std::string seen;
      while (seen.size() < consume) {
        const std::size_t want = std::min(buf.size(), consume - seen.size());
        const std::size_t got = std::fread(buf.data(), 1, want, r->File());
        ASSERT_GT(got, 0u);
        seen.append(buf.data(), got);
      }
      EXPECT_EQ(seen, bytes.substr(0, consume));
      EXPECT_EQ(std::ftell(r->File()), static_cast<long>(consume)) << "ftell: what was consumed";
      EXPECT_GE(r->BytesRead(), consume);
      std::string digest;
      std::uint64_t total = 0;
      const Status finished = r->Finish(&digest, &total);
      ASSERT_TRUE(finished.ok()) << finished.ToString();
      EXPECT_EQ(digest, Sha256Hex(bytes)) << size << " bytes, " << consume << " consumed";
      EXPECT_EQ(total, size);
      EXPECT_EQ(std::fclose(r->File()), 0);
    }
  }
}

TEST_F(HashingReaderTest, AnAbandonedReadStopsCleanly) {
  std::string bytes;
  auto opened = HashingReader::Open(Write(3 * 1024 * 1024, &bytes), HashingReader::kThreadFrom);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& r = *opened;
  std::vector<char> buf(65536);
  ASSERT_EQ(std::fread(buf.data(), 1, buf.size(), r->File()), buf.size());
  std::fclose(r->File());
  r.reset();  // joins the hashing thread; nothing hangs, nothing leaks
  SUCCEED();
}

TEST_F(HashingReaderTest, TheStreamDoesNotSeekBack) {
  std::string bytes;
  auto opened = HashingReader::Open(Write(1000, &bytes), 1000);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& r = *opened;
  EXPECT_NE(std::fseek(r->File(), 0, SEEK_SET), 0);
  std::fclose(r->File());
}

}  // namespace
}  // namespace flightwall
