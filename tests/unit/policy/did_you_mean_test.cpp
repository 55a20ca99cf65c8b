#include "policy/did_you_mean.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 4> kDnsKeys = {"resolvers", "ports", "ttl_grace_seconds",
                                                      "min_ttl_seconds"};

TEST(DidYouMeanTest, EditDistanceCountsEdits) {
  EXPECT_EQ(EditDistance("resolver", "resolvers"), 1u);
  EXPECT_EQ(EditDistance("Resolvers", "resolvers"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_GT(EditDistance(std::string(65, 'a'), "a"), 1000u);
}

TEST(DidYouMeanTest, SuggestsClosestWithinTwo) {
  EXPECT_EQ(DidYouMean("resolver", kDnsKeys), " (did you mean 'resolvers'?)");
  EXPECT_EQ(DidYouMean("prots", kDnsKeys), " (did you mean 'ports'?)");
  EXPECT_EQ(DidYouMean("timeout", kDnsKeys), "");
  EXPECT_EQ(DidYouMean("", kDnsKeys), "");
}

}  // namespace
}  // namespace flightwall
