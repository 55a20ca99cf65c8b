// Fuzzes ParseDnsMessage on raw bytes and DnsTcpReassembler on the same bytes
// cut into chunks whose sizes come from the input, checking the invariants
// callers rely on (bounded counts and names, never an empty TCP message).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "proto/dns_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void ParseAndCheck(std::span<const std::uint8_t> bytes) {
  static flightwall::DnsMessage message;  // 20 KB: kept off the stack
  const flightwall::ParseStatus status = flightwall::ParseDnsMessage(bytes, &message);
  Check(status != flightwall::ParseStatus::kNeedMore);
  Check(message.questions_stored <= flightwall::DnsMessage::kMaxQuestions);
  Check(message.answers_stored <= flightwall::DnsMessage::kMaxAnswers);
  Check(message.questions_stored <= message.question_count);
  for (std::size_t i = 0; i < message.questions_stored; ++i) {
    Check(message.questions[i].name.Size() <= 253);
  }
  for (std::size_t i = 0; i < message.answers_stored; ++i) {
    const auto& rr = message.answers[i];
    Check(rr.owner.Size() <= 253 && rr.cname_target.Size() <= 253);
    Check(rr.type == flightwall::dns_type::kA || rr.type == flightwall::dns_type::kAaaa ||
          rr.type == flightwall::dns_type::kCname);
    Check(rr.type != flightwall::dns_type::kAaaa || rr.address.IsV6());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  ParseAndCheck(input);

  static auto reassembler = std::make_unique<flightwall::DnsTcpReassembler>();
  reassembler->Reset();
  // The first byte picks the chunk sizes; the rest is the TCP stream.
  const std::uint8_t seed = size > 0 ? data[0] : 0;
  std::span<const std::uint8_t> stream = input.empty() ? input : input.subspan(1);
  std::size_t chunk = 1 + seed % 17;
  while (!stream.empty()) {
    const std::size_t n = chunk < stream.size() ? chunk : stream.size();
    Check(reassembler->Append(stream.first(n)));  // small chunks always fit
    stream = stream.subspan(n);
    std::span<const std::uint8_t> message;
    while (reassembler->Next(&message)) {
      Check(!message.empty() && message.size() <= 65535);
      ParseAndCheck(message);
    }
    Check(reassembler->Pending() <= flightwall::DnsTcpReassembler::kCapacity);
    chunk = 1 + (chunk * 7 + seed) % 301;
  }
  return 0;
}
