// `flightwall verify-log [--key-file F] [--expect-seq N [--expect-head H]]
// FILE...`: recompute an event log's hash chain (HMAC-keyed with the key),
// check it against a head published outside the log, and say whether it is
// intact, where it breaks, which losses it records and what that proves.
#include <iostream>

#include "cli/commands.h"
#include "common/status.h"
#include "sink/chain_key.h"
#include "sink/log_verifier.h"

namespace flightwall {
namespace {

// Ok when `head` is 8 to 64 hex digits (lower-cased into *out).
Status NormalizeHead(const std::string& head, std::string* out) {
  bool ok = head.size() >= kMinExpectHeadDigits && head.size() <= 64;
  for (const char ch : head) {
    const char lower = ch >= 'A' && ch <= 'F' ? static_cast<char>(ch - 'A' + 'a') : ch;
    ok = ok && ((lower >= '0' && lower <= '9') || (lower >= 'a' && lower <= 'f'));
    out->push_back(lower);
  }
  if (ok) return {};
  return Status::Error(
      "--expect-head '" + head +
      "' is not 8 to 64 hex digits; give the journal's FLIGHTWALL_CHAIN_HEAD (64 digits) or "
      "the head label of flightwall_event_chain_head_info (8 digits)");
}

}  // namespace

int RunVerifyLog(const VerifyLogOptions& o) {
  LogVerifyOptions options;
  options.expect_seq = o.expect_seq;
  Status usable;
  if (!o.expect_head.empty()) usable = NormalizeHead(o.expect_head, &options.expect_head);
  ChainKey key;
  if (usable.ok() && !o.key_file.empty()) {
    usable = ReadChainKey(o.key_file, KeyFileCheck::kReadable, &key);
    options.key = key.Bytes();
  }
  if (!usable.ok()) {
    std::cerr << "flightwall verify-log: " << usable.ToString() << "\n";
    return kExitUsage;
  }
  const LogVerifyResult r = VerifyLogFiles(o.files, options);
  switch (r.chain) {
    case LogVerifyResult::ChainState::kIntact:
      std::cout << FormatLogVerifyResult(r);
      return kExitOk;
    case LogVerifyResult::ChainState::kBroken:
      std::cout << FormatLogVerifyResult(r);
      return kExitFindings;
    case LogVerifyResult::ChainState::kUnverifiable:
      std::cout << FormatLogVerifyResult(r);
      return kExitUsage;
    case LogVerifyResult::ChainState::kUnreadable:
      break;
  }
  std::cerr << "flightwall verify-log: " << r.file << ": " << r.problem
            << "; check the path and that you may read it (event logs are mode 0640)\n";
  return kExitUsage;
}

}  // namespace flightwall
