// dns.confirm_revealed_names: loaded and validated like every key, off by
// default, and in DecideFlow a provisional allow only where no answer names
// the address, only for ports an allow rule with hosts covers.
#include <gtest/gtest.h>

#include "policy/decide.h"
#include "policy_test_helpers.h"

namespace flightwall {
namespace {

std::string WithConfirm(const std::string& value) {
  std::string text = PolicyText();
  text.insert(text.find("allow:"), "  confirm_revealed_names: " + value + "\n");
  return text;
}

TEST(ConfirmRevealedNamesTest, OffByDefaultOnWhenSet) {
  const PolicyLoadResult plain = LoadText(PolicyText());
  ASSERT_TRUE(plain.policy) << AllErrors(plain);
  EXPECT_FALSE(plain.policy->dns.confirm_revealed_names);
  const PolicyLoadResult on = LoadText(WithConfirm("true"));
  ASSERT_TRUE(on.policy) << AllErrors(on);
  EXPECT_TRUE(on.policy->dns.confirm_revealed_names);
}

TEST(ConfirmRevealedNamesTest, NotABooleanIsAnErrorAtItsPlace) {
  const PolicyLoadResult r = LoadText(WithConfirm("maybe"));
  EXPECT_FALSE(r.policy);
  EXPECT_TRUE(HasError(r, "test.yaml", 8, 27, {"confirm_revealed_names"})) << AllErrors(r);
}

TEST(ConfirmRevealedNamesTest, MisspeltKeySuggestsIt) {
  std::string text = PolicyText();
  text.insert(text.find("allow:"), "  confirm_revealed_name: true\n");
  const PolicyLoadResult r = LoadText(text);
  EXPECT_TRUE(HasError(r, "test.yaml", 8, 3, {"(did you mean 'confirm_revealed_names'?)"}))
      << AllErrors(r);
}

TEST(ConfirmRevealedNamesTest, DecideFlowHoldsOnlyUnattestedAllowedEndpoints) {
  const PolicyLoadResult r = LoadText(WithConfirm("true"));
  ASSERT_TRUE(r.policy);
  const Policy& p = *r.policy;
  FlowFacts f;
  f.dst = *IpAddress::Parse("198.51.100.10");
  f.dst_port = 443;
  f.now = 1000 * kMicrosPerSecond;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kNoDnsAttestation);  // the caller cannot ask
  f.may_confirm = true;
  Decision d = DecideFlow(p, f);
  EXPECT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.reason, Reason::kAwaitingConfirmation);
  f.dst_port = 8443;  // no rule covers it
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kNoDnsAttestation);
  f.dst_port = 443;
  f.inspection = Inspection::kComplete;
  f.revealed_name = "api.mapbox.com";
  f.revealed_source = NameSource::kSni;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kAwaitingConfirmation);
  f.revealed_confirmed = true;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kAllowedHost);
  f.revealed_confirmed = false;
  f.confirm_refuted = true;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kUnconfirmed);
  f.confirm_refuted = false;
  f.revealed_name = "evil.example";
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kNameNotAllowed);
  f.revealed_name = "";
  f.inspection = Inspection::kNoName;
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kNoDnsAttestation);
  // Fronting: a fresh answer names the address for another host.
  NameBinding other;
  other.name.Assign("cdn.other.example");
  other.answered_at = f.now;
  other.ttl = 300;
  other.trusted = true;
  f.dst_names = std::span<const NameBinding>(&other, 1);
  f.inspection = Inspection::kComplete;
  f.revealed_name = "api.mapbox.com";
  EXPECT_EQ(DecideFlow(p, f).reason, Reason::kNameNotAttested);
}

}  // namespace
}  // namespace flightwall
