// Lockdown refuses a reload that turns on dns.confirm_revealed_names: it
// lets handshakes reach addresses nobody attested.
#include <gtest/gtest.h>

#include "service/daemon.h"
#include "unit/status_matchers.h"

namespace flightwall {
namespace {

TEST(ConfirmTighteningTest, TurningTheOptInOnLoosens) {
  Policy current;
  current.mode = PolicyMode::kLockdown;
  current.dns.resolvers.push_back(*IpAddress::Parse("203.0.113.53"));
  Policy next = current;
  next.dns.confirm_revealed_names = true;
  const Status looser = PolicyIsNoLooser(current, next);
  EXPECT_FALSE(looser.ok());
  EXPECT_NE(looser.ToString().find("confirm_revealed_names"), std::string::npos);
  EXPECT_TRUE(IsOk(PolicyIsNoLooser(next, current)));  // turning it off tightens
}

}  // namespace
}  // namespace flightwall
