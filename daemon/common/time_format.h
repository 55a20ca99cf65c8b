// RFC 3339 UTC timestamps with microseconds, for events and reports.
#pragma once

#include <string>

#include "common/timestamp.h"

namespace flightwall {

std::string FormatTime(Timestamp t);  // "2026-11-26T00:41:38.123456Z"

}  // namespace flightwall
