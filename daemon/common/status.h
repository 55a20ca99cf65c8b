// Status and Result<T>: how an operator-facing error travels, after LevelDB's
// Status. Every error a person will read (a file that cannot be opened, a
// socket that cannot be bound, a YAML key that is wrong) is a Status made by
// a named constructor, with a message that says what is wrong and what to do,
// and optionally where: a file, a file line and column, or a packet number.
// ToString() renders it the one way the CLI and the daemon log print it:
// "file:line:column: message", "file: message", "file: packet N: message",
// "packet N: message" or "message". Nothing here throws.
//
// Status is ok by default and carries nothing then; Result<T> holds either a
// value or a non-ok Status. Reading the value of a failed Result (or building
// a Result from an ok Status) is a programming error and aborts, in every
// build type: a caller that forgot the check must not run on with no value.
//
// Parsers over packet bytes keep ParseStatus (proto/parse_status.h): a hostile
// packet's error is counted and turns into a denial, never shown to a person,
// and building a message string per packet would allocate on the hot path.
//
// Loaders that report every problem at once (policy, daemon config, campaign)
// keep a list of errors in their result struct rather than one Status, since
// an operator fixing a file wants all of its mistakes in one run.
//
// Thread-safety: Status and Result<T> are values; distinct objects may be used
// from distinct threads, one object needs external synchronisation as any
// std::string does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace flightwall {

class [[nodiscard]] Status {
 public:
  // Ok.
  Status() = default;

  // An error without a location. `message` says what is wrong and what to do,
  // and must not be empty.
  static Status Error(std::string message);
  // An error about a whole file (or socket path, device, address): "file: message".
  static Status InFile(std::string file, std::string message);
  // An error at a place in a text file; line and column count from 1, and a
  // column of 0 means the line is known but not the column.
  static Status AtLine(std::string file, int line, int column, std::string message);
  // An error about one packet of a capture, counted from 1; `file` may be empty.
  static Status AtPacket(std::string file, std::uint64_t packet, std::string message);

  // Lower-case accessors, as in LevelDB's Status and std::expected, so that
  // Result<T> can become std::expected<T, Status> by search and replace.
  // NOLINTBEGIN(readability-identifier-naming)
  bool ok() const { return !error_; }
  // Empty when ok.
  const std::string& message() const { return message_; }
  // Location; empty / 0 / nullopt when not known.
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }
  std::optional<std::uint64_t> packet() const { return packet_; }
  // NOLINTEND(readability-identifier-naming)

  // "OK" when ok; otherwise the location (if any) followed by the message.
  std::string ToString() const;

 private:
  Status(std::string file, int line, int column, std::optional<std::uint64_t> packet,
         std::string message);

  bool error_ = false;
  std::string message_;
  std::string file_;
  int line_ = 0;
  int column_ = 0;
  std::optional<std::uint64_t> packet_;
};

namespace status_internal {
// Prints what went wrong to stderr and aborts.
[[noreturn]] void DieOnMisuse(const char* what, const Status& status);
}  // namespace status_internal

// A value of T, or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): `return value;` is the point.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // `status` must not be ok.
  // NOLINTNEXTLINE(google-explicit-constructor): `return Status::Error(...);`.
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {
    if (std::get<1>(state_).ok()) {
      status_internal::DieOnMisuse("Result built from an ok Status", std::get<1>(state_));
    }
  }

  // NOLINTBEGIN(readability-identifier-naming): see Status::ok().
  bool ok() const { return state_.index() == 0; }
  // An ok Status when there is a value. A reference, like value(): it lives
  // as long as this Result, so `result.status().message()` may be kept.
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(state_);
  }

  T& value() & {
    Check();
    return std::get<0>(state_);
  }
  const T& value() const& {
    Check();
    return std::get<0>(state_);
  }
  T&& value() && {
    Check();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // NOLINTEND(readability-identifier-naming)

 private:
  void Check() const {
    if (!ok()) status_internal::DieOnMisuse("value() of a failed Result", std::get<1>(state_));
  }

  std::variant<T, Status> state_;
};

}  // namespace flightwall
