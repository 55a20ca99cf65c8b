// The steps around the decision functions: a deny stands, when a flow is
// settled, and what the daemon does with one packet.
#include "policy/verdict_steps.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

TEST(VerdictStepsTest, ADenyStands) {
  EXPECT_FALSE(MayReplace(Verdict::kDeny));
  EXPECT_TRUE(MayReplace(Verdict::kAllow));
  EXPECT_TRUE(MayReplace(Verdict::kNotGoverned));
}

TEST(VerdictStepsTest, OnlyADenyRefinesADenial) {
  EXPECT_TRUE(RefinesDenial({Verdict::kDeny, Reason::kNameNotAttested, -1}));
  EXPECT_FALSE(RefinesDenial({Verdict::kAllow, Reason::kAllowedHost, 0}));
}

SettleFacts TlsFlow() {
  SettleFacts f;
  f.governed = true;
  f.verdict = Verdict::kAllow;
  f.carrier = FlowCarrier::kTcp;
  f.to_server = true;
  f.has_payload = true;
  return f;
}

TEST(VerdictStepsTest, UngovernedAndAllowedDnsAreNeverSettled) {
  SettleFacts f = TlsFlow();
  f.governed = false;
  EXPECT_FALSE(SettleFlow(f).decision_final);
  f = TlsFlow();
  f.carries_dns = true;
  const Settlement s = SettleFlow(f);
  EXPECT_FALSE(s.decision_final);
  EXPECT_FALSE(s.kernel_may_apply);
  f.verdict = Verdict::kDeny;
  EXPECT_TRUE(SettleFlow(f).decision_final);
}

TEST(VerdictStepsTest, PayloadWaitsForItsName) {
  SettleFacts f = TlsFlow();
  f.inspection_pending = true;
  f.payload_unjudged = true;
  Settlement s = SettleFlow(f);
  EXPECT_TRUE(s.awaiting_name);
  EXPECT_TRUE(s.unjudged);
  EXPECT_FALSE(s.decision_final);
  // The server's ACK carries no payload: nothing to hold, held bytes stay.
  f.to_server = false;
  f.has_payload = false;
  s = SettleFlow(f);
  EXPECT_FALSE(s.awaiting_name);
  EXPECT_TRUE(s.unjudged);
}

TEST(VerdictStepsTest, TcpIsFinalOnlyOnceTheServerHoldsEveryJudgedByte) {
  SettleFacts f = TlsFlow();
  EXPECT_FALSE(SettleFlow(f).decision_final);
  f.judged_acked = true;
  Settlement s = SettleFlow(f);
  EXPECT_TRUE(s.decision_final);
  EXPECT_TRUE(s.kernel_may_apply);
  f.reading_http = true;  // a later request may name another host
  s = SettleFlow(f);
  EXPECT_FALSE(s.decision_final);
  EXPECT_TRUE(s.may_bypass_replies);
  f.reading_http = false;
  f.dns_seen = true;
  EXPECT_FALSE(SettleFlow(f).decision_final);
}

TEST(VerdictStepsTest, AllowedQuicStaysQueued) {
  SettleFacts f = TlsFlow();
  f.carrier = FlowCarrier::kUdp;
  f.quic_named = true;
  const Settlement s = SettleFlow(f);
  EXPECT_TRUE(s.decision_final);
  EXPECT_FALSE(s.kernel_may_apply);
}

TEST(VerdictStepsTest, ADenialIsFinalAndGivesItsNameRoomBack) {
  SettleFacts f = TlsFlow();
  f.verdict = Verdict::kDeny;
  Settlement s = SettleFlow(f);
  EXPECT_TRUE(s.decision_final);
  EXPECT_TRUE(s.kernel_may_apply);
  EXPECT_TRUE(s.release_name_room);
  EXPECT_FALSE(s.awaiting_name);
  f.inspection_pending = true;  // denied at the SYN: its name is still read
  EXPECT_FALSE(SettleFlow(f).release_name_room);
}

PacketFacts Allowed() {
  PacketFacts p;
  p.decoded = true;
  p.verdict = Verdict::kAllow;
  p.carrier = FlowCarrier::kTcp;
  return p;
}

TEST(VerdictStepsTest, AuditModePassesEverything) {
  PacketFacts p = Allowed();
  p.enforce = false;
  p.verdict = Verdict::kDeny;
  PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kAccept);
  EXPECT_EQ(a.reply, PacketReply::kNone);
  p.decoded = false;
  a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kAccept);
}

TEST(VerdictStepsTest, UnreadablePacketsAreDroppedAndCounted) {
  PacketFacts p;  // malformed, not IP, or a link or version the decoder does not read
  const PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kDrop);
  EXPECT_EQ(a.count, PacketCount::kMalformedDropped);
  EXPECT_EQ(a.judged, Verdict::kDeny);
}

TEST(VerdictStepsTest, ARefusedSegmentIsDroppedWithoutAReply) {
  PacketFacts p = Allowed();
  p.packet_refused = true;
  const PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kDrop);
  EXPECT_EQ(a.reply, PacketReply::kNone);
  EXPECT_EQ(a.held, HeldFate::kStay);
  EXPECT_EQ(a.count, PacketCount::kSegmentRefused);
}

TEST(VerdictStepsTest, DeniedDnsQuestionsFailFast) {
  PacketFacts p = Allowed();
  p.carrier = FlowCarrier::kUdp;
  p.dns = true;
  p.dns_question_denied = true;
  p.dns_reason = Reason::kDnsNameNotAllowed;
  PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kDrop);
  EXPECT_EQ(a.reply, PacketReply::kDnsRefusal);
  p.dns_reason = Reason::kDnsResolverNotAllowed;
  EXPECT_EQ(ActOnPacket(p).reply, PacketReply::kIcmpUnreachable);
  p.dns_reason = Reason::kDnsMalformed;
  a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kDrop);
  EXPECT_EQ(a.reply, PacketReply::kNone);
  p.dns_question_denied = false;
  EXPECT_EQ(ActOnPacket(p).queue, QueueVerdict::kAccept);
}

TEST(VerdictStepsTest, ADeniedOpeningIsAnsweredAndItsHeldPacketsDropped) {
  PacketFacts p = Allowed();
  p.verdict = Verdict::kDeny;
  p.settled.kernel_may_apply = true;
  PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kDrop);
  EXPECT_EQ(a.reply, PacketReply::kTcpReset);
  EXPECT_EQ(a.held, HeldFate::kDrop);
  EXPECT_EQ(a.mark, ConnMark::kDenied);
  p.to_server = false;  // never answer the server
  EXPECT_EQ(ActOnPacket(p).reply, PacketReply::kNone);
  p.to_server = true;
  p.carrier = FlowCarrier::kUdp;
  EXPECT_EQ(ActOnPacket(p).reply, PacketReply::kIcmpUnreachable);
  p.carrier = FlowCarrier::kSingle;
  p.icmp_error = true;
  a = ActOnPacket(p);
  EXPECT_EQ(a.reply, PacketReply::kNone);
  EXPECT_EQ(a.mark, ConnMark::kNone);
}

TEST(VerdictStepsTest, PayloadAwaitingItsNameIsHeld) {
  PacketFacts p = Allowed();
  p.settled.awaiting_name = true;
  p.settled.unjudged = true;
  const PacketAction a = ActOnPacket(p);
  EXPECT_EQ(a.queue, QueueVerdict::kHold);
  EXPECT_TRUE(a.ack_held);
  EXPECT_EQ(a.held, HeldFate::kStay);
}

TEST(VerdictStepsTest, HeldPayloadPassesOnlyOnceJudged) {
  PacketFacts p = Allowed();
  p.settled.unjudged = true;  // an ACK while the name is confirmed
  EXPECT_EQ(ActOnPacket(p).held, HeldFate::kStay);
  p.settled.unjudged = false;
  EXPECT_EQ(ActOnPacket(p).held, HeldFate::kAccept);
}

TEST(VerdictStepsTest, MarksLetTheKernelApplyOnlyFinalOrBypassState) {
  PacketFacts p = Allowed();
  EXPECT_EQ(ActOnPacket(p).mark, ConnMark::kNone);
  p.settled.kernel_may_apply = true;
  EXPECT_EQ(ActOnPacket(p).mark, ConnMark::kAllowed);
  p.every_packet = true;
  EXPECT_EQ(ActOnPacket(p).mark, ConnMark::kNone);
  p = Allowed();
  p.reply_bypass_on = true;
  EXPECT_EQ(ActOnPacket(p).mark, ConnMark::kRequests);
  p = Allowed();
  p.reply_bypass_off = true;
  EXPECT_EQ(ActOnPacket(p).mark, ConnMark::kInspect);
}

TEST(VerdictStepsTest, OtherProtocolsAreDeniedUnlessLocal) {
  EXPECT_EQ(DecideOtherProtocol(*IpAddress::Parse("198.51.100.7")).verdict, Verdict::kDeny);
  EXPECT_EQ(DecideOtherProtocol(*IpAddress::Parse("224.0.0.18")).verdict, Verdict::kNotGoverned);
  EXPECT_EQ(DecideUnreadableDns().reason, Reason::kDnsMalformed);
}

}  // namespace
}  // namespace flightwall
