// NameCacheStore and the name cache file: what survives a restart, and that
// a damaged, foreign or oversized file is ignored whole.
#include "service/name_cache_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "policy/decide.h"
#include "policy/policy_loader.h"
#include "service/daemon_config.h"

namespace flightwall {
namespace {

constexpr const char* kPolicy = R"(
version: 1
name: store-test
flight_apps:
  - name: tablet
    sources: [192.0.2.0/24]
dns:
  resolvers: [203.0.113.53]
  ttl_grace_seconds: 30
  min_ttl_seconds: 60
allow:
  - name: tiles
    hosts: [api.mapbox.com]
    ports: [443]
)";

constexpr Timestamp kNow = 1'800'000'000LL * kMicrosPerSecond;
constexpr std::size_t kMaxNames = 64;

Policy LoadTestPolicy() {
  auto r = LoadPolicyFromString(kPolicy, "store-test.yaml", ".");
  EXPECT_TRUE(r.policy.has_value());
  return *r.policy;
}

IpAddress Addr(const char* text) { return *IpAddress::Parse(text); }

StoredName Name(const char* address, const char* name, Timestamp answered_at,
                std::uint32_t ttl = 300, bool trusted = true,
                const char* resolver = "203.0.113.53") {
  StoredName n;
  n.address = Addr(address);
  n.binding.name.Assign(name);
  n.binding.answered_at = answered_at;
  n.binding.ttl = ttl;
  n.binding.trusted = trusted;
  if (resolver) n.binding.resolver = Addr(resolver);
  return n;
}

std::vector<std::uint8_t> AsBytes(const std::string& s) { return {s.begin(), s.end()}; }

bool Attests(const Policy& p, const SharedNameCache& cache, const char* address, Timestamp now) {
  std::array<NameBinding, NameCache::kNamesPerAddress> got{};
  const std::size_t n = cache.Copy(Addr(address), got);
  for (std::size_t i = 0; i < n; ++i) {
    if (BindingAttests(p, got[i], now)) return true;
  }
  return false;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fw-names-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const char* name) const { return path_ + "/" + name; }
  const std::string& Path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(NameCacheFileTest, RoundTripKeepsEveryField) {
  std::vector<StoredName> in = {
      Name("198.51.100.10", "api.mapbox.com", kNow - 5 * kMicrosPerSecond, 300),
      Name("2001:db8:100::10", "a.tiles.mapbox.com", kNow, 60, true, "2001:db8:53::53"),
      Name("198.51.100.20", "flightlog.dji.com", kNow, 1, false, nullptr),
  };
  in[1].binding.confirmed = true;
  const std::string bytes = EncodeNameCacheFile(in, kNow);
  const auto out = DecodeNameCacheFile(AsBytes(bytes), kMaxNames);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.written_at, kNow);
  ASSERT_EQ(out.names.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out.names[i].address, in[i].address);
    EXPECT_EQ(out.names[i].binding.name.View(), in[i].binding.name.View());
    EXPECT_EQ(out.names[i].binding.answered_at, in[i].binding.answered_at);
    EXPECT_EQ(out.names[i].binding.ttl, in[i].binding.ttl);
    EXPECT_EQ(out.names[i].binding.trusted, in[i].binding.trusted);
    EXPECT_EQ(out.names[i].binding.resolver, in[i].binding.resolver);
    EXPECT_EQ(out.names[i].binding.confirmed, in[i].binding.confirmed);
  }
}

TEST(NameCacheFileTest, AnyFlippedByteRejectsTheWholeFile) {
  const std::vector<StoredName> in = {
      Name("198.51.100.10", "api.mapbox.com", kNow),
      Name("198.51.100.11", "b.tiles.mapbox.com", kNow),
  };
  const std::string bytes = EncodeNameCacheFile(in, kNow);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    const auto out = DecodeNameCacheFile(AsBytes(bad), kMaxNames);
    EXPECT_FALSE(out.ok) << "byte " << i << " flipped was accepted";
    EXPECT_TRUE(out.names.empty());
  }
}

TEST(NameCacheFileTest, TruncatedOrPaddedIsRejected) {
  const std::string bytes = EncodeNameCacheFile(
      std::vector<StoredName>{Name("198.51.100.10", "api.mapbox.com", kNow)}, kNow);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(DecodeNameCacheFile(AsBytes(bytes.substr(0, len)), kMaxNames).ok) << len;
  }
  EXPECT_FALSE(DecodeNameCacheFile(AsBytes(bytes + '\0'), kMaxNames).ok);
}

TEST(NameCacheFileTest, WrongMagicOrVersionIsRejectedWithReason) {
  std::string bytes = EncodeNameCacheFile({}, kNow);
  std::string foreign = bytes;
  foreign[0] = 'X';
  auto out = DecodeNameCacheFile(AsBytes(foreign), kMaxNames);
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("bad magic"), std::string::npos) << out.error;
  std::string version = bytes;
  version[11] = 2;  // last byte of the version
  out = DecodeNameCacheFile(AsBytes(version), kMaxNames);
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("version 2"), std::string::npos) << out.error;
  EXPECT_FALSE(DecodeNameCacheFile(AsBytes("{\"json\": true}"), kMaxNames).ok);
}

TEST(NameCacheFileTest, MoreNamesThanAllowedIsRejected) {
  std::vector<StoredName> many;
  many.reserve(5);
  for (int i = 0; i < 5; ++i) many.push_back(Name("198.51.100.10", "api.mapbox.com", kNow));
  const std::string bytes = EncodeNameCacheFile(many, kNow);
  EXPECT_TRUE(DecodeNameCacheFile(AsBytes(bytes), 5).ok);
  const auto out = DecodeNameCacheFile(AsBytes(bytes), 4);
  EXPECT_FALSE(out.ok);
  EXPECT_LE(NameCacheFileBound(4), NameCacheFileBound(5));
}

TEST(NameCacheFileTest, OversizedFileIsNotRead) {
  TempDir dir;
  const std::string path = dir.File("names.bin");
  WriteAll(path, std::string(NameCacheFileBound(2) + 1, 'A'));
  const auto out = ReadNameCacheFile(path, 2);
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("larger"), std::string::npos) << out.error;
}

TEST(NameCacheFileTest, MissingFileIsAnEmptyCache) {
  TempDir dir;
  const auto out = ReadNameCacheFile(dir.File("none.bin"), kMaxNames);
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_TRUE(out.names.empty());
}

TEST(NameCacheFileTest, AtomicReplaceWritesMode0600) {
  TempDir dir;
  const std::string path = dir.File("names.bin");
  ASSERT_TRUE(ReplaceFileAtomically(path, "first").ok());
  ASSERT_TRUE(ReplaceFileAtomically(path, "second").ok());
  EXPECT_EQ(ReadAll(path), "second");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(NameCacheFileTest, FailedReplaceLeavesTheOldFile) {
  TempDir dir;
  const std::string path = dir.File("names.bin");
  ASSERT_TRUE(ReplaceFileAtomically(path, "old").ok());
  // The temporary file cannot be created (even by root): a directory is in
  // its place.
  std::filesystem::create_directories(path + ".tmp/in-the-way");
  const Status replaced = ReplaceFileAtomically(path, "new");
  EXPECT_FALSE(replaced.ok());
  const std::string error = replaced.message();
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_EQ(ReadAll(path), "old");
}

TEST(NameCacheFileTest, FailedRenameRemovesTheTemporaryFile) {
  TempDir dir;
  const std::string path = dir.File("names.bin");
  std::filesystem::create_directories(path + "/in-the-way");  // rename cannot replace it
  const Status replaced = ReplaceFileAtomically(path, "new");
  EXPECT_FALSE(replaced.ok());
  const std::string error = replaced.message();
  EXPECT_NE(error.find("cannot rename"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(NameCacheFileTest, FailedReplaceIntoMissingDirectorySaysSo) {
  TempDir dir;
  const Status replaced = ReplaceFileAtomically(dir.File("no/such/names.bin"), "x");
  EXPECT_FALSE(replaced.ok());
  const std::string error = replaced.message();
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

TEST(RestoreNamesTest, OnlyWhatStillAttestsComesBack) {
  const Policy p = LoadTestPolicy();
  SharedNameCache cache(kMaxNames);
  const std::vector<StoredName> names = {
      Name("198.51.100.10", "api.mapbox.com", kNow - 10 * kMicrosPerSecond, 300),
      // TTL 300 + grace 30 past.
      Name("198.51.100.11", "api.mapbox.com", kNow - 331 * kMicrosPerSecond, 300),
      // Answered by a resolver the policy does not allow.
      Name("198.51.100.12", "api.mapbox.com", kNow, 300, false, "198.51.100.99"),
      // Marked trusted but the resolver is no longer allowed.
      Name("198.51.100.13", "api.mapbox.com", kNow, 300, true, "198.51.100.99"),
      // No resolver recorded: never trusted blindly.
      Name("198.51.100.14", "api.mapbox.com", kNow, 300, true, nullptr),
      // From the future (the clock went back).
      Name("198.51.100.15", "api.mapbox.com", kNow + 3600 * kMicrosPerSecond, 300),
  };
  const NameRestoreCounts c = RestoreNames(p, names, kNow, &cache);
  EXPECT_EQ(c.restored, 1u);
  EXPECT_EQ(c.expired, 1u);
  EXPECT_EQ(c.untrusted, 3u);
  EXPECT_EQ(c.future, 1u);
  EXPECT_TRUE(Attests(p, cache, "198.51.100.10", kNow));
  for (const char* a :
       {"198.51.100.11", "198.51.100.12", "198.51.100.13", "198.51.100.14", "198.51.100.15"}) {
    EXPECT_FALSE(Attests(p, cache, a, kNow + 3700 * kMicrosPerSecond)) << a;
    std::array<NameBinding, NameCache::kNamesPerAddress> got{};
    EXPECT_EQ(cache.Copy(Addr(a), got), 0u) << a;
  }
}

TEST(RestoreNamesTest, ShortTtlIsRaisedToThePolicyMinimum) {
  const Policy p = LoadTestPolicy();
  SharedNameCache cache(kMaxNames);
  // TTL 5 s, answered 80 s ago: min_ttl 60 + grace 30 = 90 s still attest.
  const std::vector<StoredName> names = {
      Name("198.51.100.10", "api.mapbox.com", kNow - 80 * kMicrosPerSecond, 5)};
  EXPECT_EQ(RestoreNames(p, names, kNow, &cache).restored, 1u);
  EXPECT_TRUE(Attests(p, cache, "198.51.100.10", kNow));
}

TEST(RestoreNamesTest, NewestBindingStaysInFront) {
  const Policy p = LoadTestPolicy();
  SharedNameCache cache(kMaxNames);
  const std::vector<StoredName> names = {
      Name("198.51.100.10", "b.tiles.mapbox.com", kNow - 1 * kMicrosPerSecond),
      Name("198.51.100.10", "api.mapbox.com", kNow - 9 * kMicrosPerSecond),
  };
  RestoreNames(p, names, kNow, &cache);
  std::array<NameBinding, NameCache::kNamesPerAddress> got{};
  ASSERT_EQ(cache.Copy(Addr("198.51.100.10"), got), 2u);
  EXPECT_EQ(got[0].name.View(), "b.tiles.mapbox.com");
  EXPECT_EQ(got[0].packet, 0u);
}

TEST(NameCacheStoreTest, SaveThenRestoreInANewCache) {
  const Policy p = LoadTestPolicy();
  TempDir dir;
  const std::string path = dir.File("names.bin");
  SharedNameCache before(kMaxNames);
  NameBinding b = Name("198.51.100.10", "api.mapbox.com", kNow).binding;
  b.packet = 42;
  before.Bind(Addr("198.51.100.10"), b);
  NameBinding untrusted = Name("198.51.100.20", "x.example", kNow, 300, false).binding;
  before.Bind(Addr("198.51.100.20"), untrusted);

  NameCacheStore store(path, kMaxNames);
  std::string log;
  ASSERT_TRUE(store.Save(p, before, kNow, 0, false, &log)) << log;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  SharedNameCache after(kMaxNames);
  NameCacheStore restart(path, kMaxNames);
  const NameRestoreCounts c = restart.Restore(p, &after, kNow + kMicrosPerSecond, &log);
  EXPECT_FALSE(c.file_ignored);
  EXPECT_EQ(c.restored, 1u);
  EXPECT_NE(log.find("restored 1 names from " + path), std::string::npos) << log;
  EXPECT_TRUE(Attests(p, after, "198.51.100.10", kNow + kMicrosPerSecond));
  std::array<NameBinding, NameCache::kNamesPerAddress> got{};
  EXPECT_EQ(after.Copy(Addr("198.51.100.20"), got), 0u);  // untrusted: never saved
}

TEST(NameCacheStoreTest, CorruptFileIsIgnoredWithAWarning) {
  const Policy p = LoadTestPolicy();
  TempDir dir;
  const std::string path = dir.File("names.bin");
  std::string bytes = EncodeNameCacheFile(
      std::vector<StoredName>{Name("198.51.100.10", "api.mapbox.com", kNow)}, kNow);
  bytes[bytes.size() - 3] ^= 0x20;
  WriteAll(path, bytes);
  SharedNameCache cache(kMaxNames);
  NameCacheStore store(path, kMaxNames);
  std::string log;
  const NameRestoreCounts c = store.Restore(p, &cache, kNow, &log);
  EXPECT_TRUE(c.file_ignored);
  EXPECT_EQ(c.restored, 0u);
  EXPECT_EQ(log, "warning: ignoring name cache " + path +
                     ": checksum mismatch; names will be learned again from DNS (the file is "
                     "replaced at the next save)");
  EXPECT_EQ(cache.Addresses(), 0u);
}

TEST(NameCacheStoreTest, SavesOnlyWhenChangedAndNotTooOften) {
  const Policy p = LoadTestPolicy();
  TempDir dir;
  const std::string path = dir.File("names.bin");
  SharedNameCache cache(kMaxNames);
  NameCacheStore store(path, kMaxNames);
  std::string log;
  ASSERT_TRUE(store.Save(p, cache, kNow, 0, false, &log));  // first save: an empty file
  ASSERT_TRUE(std::filesystem::exists(path));
  const std::string empty = ReadAll(path);
  cache.Bind(Addr("198.51.100.10"), Name("198.51.100.10", "api.mapbox.com", kNow).binding);
  ASSERT_TRUE(store.Save(p, cache, kNow, kMicrosPerSecond, false, &log));
  EXPECT_EQ(ReadAll(path), empty);  // changed, but within the interval
  ASSERT_TRUE(store.Save(p, cache, kNow, NameCacheStore::kSaveInterval, false, &log));
  const std::string one = ReadAll(path);
  EXPECT_NE(one, empty);
  std::filesystem::remove(path);
  ASSERT_TRUE(store.Save(p, cache, kNow, 10 * NameCacheStore::kSaveInterval, true, &log));
  EXPECT_FALSE(std::filesystem::exists(path));  // unchanged: not written, even forced
  cache.Bind(Addr("198.51.100.11"), Name("198.51.100.11", "api.mapbox.com", kNow).binding);
  ASSERT_TRUE(store.Save(p, cache, kNow, 10 * NameCacheStore::kSaveInterval + 1, true, &log));
  EXPECT_TRUE(std::filesystem::exists(path));  // forced (at stop): written at once
}

TEST(NameCacheStoreTest, SaveFailureIsReportedOnceAndKeepsTheOldFile) {
  const Policy p = LoadTestPolicy();
  TempDir dir;
  SharedNameCache cache(kMaxNames);
  cache.Bind(Addr("198.51.100.10"), Name("198.51.100.10", "api.mapbox.com", kNow).binding);
  NameCacheStore store(dir.File("missing/names.bin"), kMaxNames);
  std::string log;
  EXPECT_FALSE(store.Save(p, cache, kNow, 0, true, &log));
  EXPECT_NE(log.find("cannot save the name cache"), std::string::npos) << log;
  cache.Bind(Addr("198.51.100.11"), Name("198.51.100.11", "api.mapbox.com", kNow).binding);
  EXPECT_FALSE(store.Save(p, cache, kNow, 1, true, &log));
  EXPECT_TRUE(log.empty()) << log;
}

TEST(NameCacheStoreTest, DisabledStoreDoesNothing) {
  const Policy p = LoadTestPolicy();
  SharedNameCache cache(kMaxNames);
  NameCacheStore store("", kMaxNames);
  std::string log;
  EXPECT_FALSE(store.Enabled());
  EXPECT_EQ(store.Restore(p, &cache, kNow, &log).restored, 0u);
  EXPECT_TRUE(store.Save(p, cache, kNow, 0, true, &log));
  EXPECT_TRUE(log.empty());
}

// dns.state_file in the daemon config (daemon_config.cpp).
TEST(NameCacheStateFileConfigTest, DefaultEmptyAbsoluteAndRelative) {
  const auto load = [](const std::string& dns) {
    return LoadDaemonConfigFromString("policy: /etc/flightwall/policy.yaml\ndns:\n" + dns,
                                      "flightwall.yaml", "/etc/flightwall");
  };
  auto r = load("  refuse_with: refused\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->names_state_file, "/var/lib/flightwall/names.bin");
  r = load("  state_file: \"\"\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->names_state_file, "");
  r = load("  state_file: /srv/fw/names.bin\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->names_state_file, "/srv/fw/names.bin");
  r = load("  state_file: names.bin\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("must be an absolute path"), std::string::npos);
}

}  // namespace
}  // namespace flightwall
