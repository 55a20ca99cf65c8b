// `flightwall verify-log FILE...`: recompute an event log's hash chain and
// say whether it is intact, where it breaks, and which losses it records.
#include <iostream>

#include "cli/commands.h"
#include "sink/log_verifier.h"

namespace flightwall {

int RunVerifyLog(const VerifyLogOptions& o) {
  const LogVerifyResult r = VerifyLogFiles(o.files);
  switch (r.status) {
    case LogVerifyResult::Status::kIntact:
      std::cout << FormatLogVerifyResult(r);
      return kExitOk;
    case LogVerifyResult::Status::kBroken:
      std::cout << FormatLogVerifyResult(r);
      return kExitFindings;
    case LogVerifyResult::Status::kUnreadable:
      break;
  }
  std::cerr << "flightwall verify-log: " << r.file << ": " << r.problem
            << "; check the path and that you may read it (event logs are mode 0640)\n";
  return kExitUsage;
}

}  // namespace flightwall
