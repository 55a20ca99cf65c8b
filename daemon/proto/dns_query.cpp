#include "proto/dns_query.h"

#include <algorithm>

#include "proto/dns_parser.h"

namespace flightwall {
namespace {

constexpr std::uint16_t kClassIn = 1;
constexpr std::size_t kMaxChain = 8;  // CNAME hops followed from the question

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameName(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

void Put16(std::span<std::uint8_t> out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<std::uint8_t>(v >> 8);
  out[at + 1] = static_cast<std::uint8_t>(v & 0xff);
}

}  // namespace

std::size_t BuildDnsQuery(std::uint16_t id, std::string_view name, std::uint16_t qtype,
                          std::span<std::uint8_t> out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return 0;
  const std::size_t length = 12 + name.size() + 2 + 4;
  if (out.size() < length) return 0;
  std::fill(out.begin(), out.begin() + 12, std::uint8_t{0});
  Put16(out, 0, id);
  out[2] = 0x01;     // RD
  Put16(out, 4, 1);  // QDCOUNT
  std::size_t at = 12;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i < name.size() && name[i] != '.') continue;
    const std::size_t label = i - label_start;
    if (label == 0 || label > 63) return 0;
    out[at++] = static_cast<std::uint8_t>(label);
    for (std::size_t j = label_start; j < i; ++j) out[at++] = static_cast<std::uint8_t>(name[j]);
    label_start = i + 1;
  }
  out[at++] = 0;
  Put16(out, at, qtype);
  Put16(out, at + 2, kClassIn);
  return at + 4;
}

AnswerVerdict JudgeConfirmAnswer(std::span<const std::uint8_t> reply, std::uint16_t id,
                                 std::string_view name, std::uint16_t qtype,
                                 const IpAddress& address, std::uint32_t* ttl) {
  // Long-lived: one per confirmer thread would do, but it is only read here.
  static thread_local DnsMessage msg;
  const ParseStatus st = ParseDnsMessage(reply, &msg);
  if (st == ParseStatus::kNotMine) return AnswerVerdict::kNotOurs;
  if (!msg.is_response || msg.id != id) return AnswerVerdict::kNotOurs;
  const bool same_question = msg.question_count == 1 && msg.questions_stored == 1 &&
                             SameName(msg.questions[0].name.View(), name) &&
                             msg.questions[0].qtype == qtype && msg.questions[0].qclass == kClassIn;
  if (!same_question) return AnswerVerdict::kNotOurs;
  if (st != ParseStatus::kOk || msg.rcode != 0 || msg.truncated || msg.opcode != 0) {
    return AnswerVerdict::kRefuted;
  }
  // Follow the chain from the question's name; only records owned by a name
  // on it count.
  std::string_view current = msg.questions[0].name.View();
  std::uint32_t smallest = 0xffffffffu;
  for (std::size_t hop = 0; hop < kMaxChain; ++hop) {
    const DnsAnswer* cname = nullptr;
    for (std::size_t i = 0; i < msg.answers_stored; ++i) {
      const DnsAnswer& a = msg.answers[i];
      if (!SameName(a.owner.View(), current)) continue;
      if (a.type == qtype && a.address == address) {
        *ttl = std::min(smallest, a.ttl);
        return AnswerVerdict::kConfirmed;
      }
      if (a.type == dns_type::kCname && cname == nullptr) cname = &a;
    }
    if (cname == nullptr) break;
    smallest = std::min(smallest, cname->ttl);
    current = cname->cname_target.View();
  }
  return AnswerVerdict::kRefuted;
}

}  // namespace flightwall
