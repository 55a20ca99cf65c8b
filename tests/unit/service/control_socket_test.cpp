#include "service/control_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace flightwall {
namespace {

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fw-control-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/run/control.sock";  // the parent is created by Open
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // -1 when nobody accepts.
  int Connect() const {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  std::string Ask(const std::string& request) const {
    const int fd = Connect();
    if (fd < 0) return "<no connection>";
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string reply;
    char buffer[512];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      reply.append(buffer, static_cast<std::size_t>(n));
    }
    close(fd);
    return reply;
  }

  static ControlSocket::Handler Echo() {
    return [](std::string_view request) { return "got:" + std::string(request); };
  }
  // The socket at path_, or null (a test failure) with the reason printed.
  std::unique_ptr<ControlSocket> MustOpen() {
    auto opened = ControlSocket::Open(path_, Echo());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  // Why opening the socket at path_ fails ("" if it does not).
  std::string OpenError() {
    const auto opened = ControlSocket::Open(path_, Echo());
    EXPECT_FALSE(opened.ok());
    return opened.status().message();
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ControlSocketTest, AnswersOneLineAndRemovesItsFileAtTheEnd) {
  auto s = MustOpen();
  ASSERT_TRUE(s);
  s->Start();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(Ask("status\n"), "got:status\n");
  EXPECT_EQ(Ask("status\r\n"), "got:status\n");
  s.reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_EQ(Connect(), -1);
}

TEST_F(ControlSocketTest, ASilentClientIsCutOffAndTheNextIsAnswered) {
  auto s = MustOpen();
  ASSERT_TRUE(s);
  s->Start();
  const int silent = Connect();
  ASSERT_GE(silent, 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Ask("status\n"), "got:status\n");
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(waited, ControlSocket::kClientTimeout + std::chrono::milliseconds(1500));
  // The silent client got nothing but the close.
  char c = 0;
  EXPECT_EQ(recv(silent, &c, 1, 0), 0);
  close(silent);
}

TEST_F(ControlSocketTest, AnOverlongRequestIsRefused) {
  auto s = MustOpen();
  ASSERT_TRUE(s);
  s->Start();
  const std::string reply = Ask(std::string(ControlSocket::kMaxRequest + 10, 'x'));
  EXPECT_NE(reply.find("too long"), std::string::npos) << reply;
}

TEST_F(ControlSocketTest, RefusesALiveSocketAndReplacesAStaleOne) {
  auto first = MustOpen();
  ASSERT_TRUE(first);
  first->Start();
  const std::string error = OpenError();
  EXPECT_NE(error.find("another flightwall"), std::string::npos) << error;
  EXPECT_EQ(Ask("status\n"), "got:status\n");  // the first one still serves

  // A socket file nobody listens on (a crashed daemon) is replaced.
  first.reset();
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  auto second = MustOpen();
  ASSERT_TRUE(second);
  second->Start();
  EXPECT_EQ(Ask("status\n"), "got:status\n");
}

TEST_F(ControlSocketTest, RefusesAPathThatIsNotASocket) {
  std::filesystem::create_directories(dir_ + "/run");
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fclose(f);
  }
  const std::string error = OpenError();
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  EXPECT_TRUE(std::filesystem::exists(path_));  // left alone
}

}  // namespace
}  // namespace flightwall
