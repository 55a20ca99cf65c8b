// Lockdown refuses a reload that turns on dns.confirm_revealed_names: it
// lets handshakes reach addresses nobody attested.
#include <gtest/gtest.h>

#include "service/daemon.h"

namespace flightwall {
namespace {

TEST(ConfirmTighteningTest, TurningTheOptInOnLoosens) {
  Policy current;
  current.mode = PolicyMode::kLockdown;
  current.dns.resolvers.push_back(*IpAddress::Parse("203.0.113.53"));
  Policy next = current;
  next.dns.confirm_revealed_names = true;
  std::string why;
  EXPECT_FALSE(PolicyIsNoLooser(current, next, &why));
  EXPECT_NE(why.find("confirm_revealed_names"), std::string::npos);
  EXPECT_TRUE(PolicyIsNoLooser(next, current, &why)) << why;  // turning it off tightens
}

}  // namespace
}  // namespace flightwall
