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

  std::string dir_;
  std::string path_;
};

TEST_F(ControlSocketTest, AnswersOneLineAndRemovesItsFileAtTheEnd) {
  std::string error;
  auto s = ControlSocket::Open(path_, Echo(), &error);
  ASSERT_TRUE(s) << error;
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
  std::string error;
  auto s = ControlSocket::Open(path_, Echo(), &error);
  ASSERT_TRUE(s) << error;
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
  std::string error;
  auto s = ControlSocket::Open(path_, Echo(), &error);
  ASSERT_TRUE(s) << error;
  s->Start();
  const std::string reply = Ask(std::string(ControlSocket::kMaxRequest + 10, 'x'));
  EXPECT_NE(reply.find("too long"), std::string::npos) << reply;
}

TEST_F(ControlSocketTest, RefusesALiveSocketAndReplacesAStaleOne) {
  std::string error;
  auto first = ControlSocket::Open(path_, Echo(), &error);
  ASSERT_TRUE(first) << error;
  first->Start();
  EXPECT_FALSE(ControlSocket::Open(path_, Echo(), &error));
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
  auto second = ControlSocket::Open(path_, Echo(), &error);
  ASSERT_TRUE(second) << error;
  second->Start();
  EXPECT_EQ(Ask("status\n"), "got:status\n");
}

TEST_F(ControlSocketTest, RefusesAPathThatIsNotASocket) {
  std::filesystem::create_directories(dir_ + "/run");
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fclose(f);
  }
  std::string error;
  EXPECT_FALSE(ControlSocket::Open(path_, Echo(), &error));
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  EXPECT_TRUE(std::filesystem::exists(path_));  // left alone
}

}  // namespace
}  // namespace flightwall
