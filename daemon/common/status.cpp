#include "common/status.h"

#include <cstdio>
#include <cstdlib>

namespace flightwall {

Status::Status(std::string file, int line, int column, std::optional<std::uint64_t> packet,
               std::string message)
    : error_(true),
      message_(std::move(message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      packet_(packet) {
  if (message_.empty()) status_internal::DieOnMisuse("an error Status without a message", *this);
}

Status Status::Error(std::string message) {
  return Status("", 0, 0, std::nullopt, std::move(message));
}

Status Status::InFile(std::string file, std::string message) {
  return Status(std::move(file), 0, 0, std::nullopt, std::move(message));
}

Status Status::AtLine(std::string file, int line, int column, std::string message) {
  return Status(std::move(file), line, column, std::nullopt, std::move(message));
}

Status Status::AtPacket(std::string file, std::uint64_t packet, std::string message) {
  return Status(std::move(file), 0, 0, packet, std::move(message));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out;
  if (!file_.empty()) {
    out += file_;
    if (line_ > 0) {
      out += ':' + std::to_string(line_);
      if (column_ > 0) out += ':' + std::to_string(column_);
    }
    out += ": ";
  }
  if (packet_) out += "packet " + std::to_string(*packet_) + ": ";
  out += message_;
  return out;
}

namespace status_internal {

void DieOnMisuse(const char* what, const Status& status) {
  std::fprintf(stderr, "flightwall: internal error: %s (%s)\n", what, status.ToString().c_str());
  std::abort();
}

}  // namespace status_internal
}  // namespace flightwall
