#include "proto/http_request.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/byte_cursor.h"

namespace flightwall {
namespace {

constexpr std::array<std::string_view, 19> kMethods = {
    "GET",     "POST",   "PUT",      "HEAD",      "DELETE", "OPTIONS", "PATCH",
    "CONNECT", "TRACE",  "PROPFIND", "PROPPATCH", "MKCOL",  "COPY",    "MOVE",
    "LOCK",    "UNLOCK", "REPORT",   "SEARCH",    "PURGE"};

std::string_view AsText(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// kOk (and the method's length) when `text` starts with a known method and a
// space; kNeedMore while `text` is still a prefix of one; kNotMine otherwise.
ParseStatus MatchMethod(std::string_view text, std::size_t* method_length) {
  bool could_become_one = false;
  for (const std::string_view method : kMethods) {
    if (text.size() > method.size()) {
      if (text.substr(0, method.size()) == method && text[method.size()] == ' ') {
        *method_length = method.size();
        return ParseStatus::kOk;
      }
    } else if (method.substr(0, text.size()) == text) {
      could_become_one = true;
    }
  }
  return could_become_one ? ParseStatus::kNeedMore : ParseStatus::kNotMine;
}

// Reads one line ending in LF (a preceding CR is dropped). False when no LF is
// left, leaving the cursor where it was.
bool NextLine(ByteCursor* cursor, std::string_view* line) {
  const auto rest = cursor->Rest();
  const auto lf = std::find(rest.begin(), rest.end(), std::uint8_t{'\n'});
  if (lf == rest.end()) return false;
  const auto length = static_cast<std::size_t>(lf - rest.begin());
  *line = AsText(cursor->Bytes(length + 1).first(length));
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  return true;
}

// Host of an authority ("Host" value, "host:port", "[v6]:port"), port,
// brackets and a trailing dot removed, lower-cased. False when it does not
// fit a HostName or a bracket is unbalanced.
bool HostFromAuthority(std::string_view authority, HostName* out) {
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    host = host.substr(1, close - 1);
  } else {
    const std::size_t colon = host.find(':');
    // More than one colon is an unbracketed IPv6 literal: invalid, but there
    // is no port to strip, so it is kept whole rather than cut at random.
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
      host = host.substr(0, colon);
    }
  }
  // "tiles.example." names the same host; DNS names are kept without the
  // root dot, so attribution compares like with like.
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  out->Clear();
  for (const char c : host) {
    if (!out->Append(LowerAscii(c))) return false;
  }
  return true;
}

// Authority of an absolute-form target ("http://user@host:port/path").
bool AuthorityFromAbsoluteTarget(std::string_view target, std::string_view* authority) {
  std::string_view rest;
  if (StartsWithIgnoreCase(target, "http://")) {
    rest = target.substr(7);
  } else if (StartsWithIgnoreCase(target, "https://")) {
    rest = target.substr(8);
  } else {
    return false;
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  *authority = rest;
  return true;
}

bool ParseContentLength(std::string_view value, std::uint64_t* out) {
  if (value.empty() || value.size() > 18) return false;  // 18 digits cannot overflow
  std::uint64_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

bool HasChunkedCoding(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (EqualsIgnoreCase(TrimOws(value.substr(0, comma)), "chunked")) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Splits "METHOD SP target SP HTTP/x.y" (the method already matched).
// *target is the whole target: out->target may be truncated.
bool ParseRequestLine(std::string_view line, std::size_t method_length, std::string_view* target,
                      HttpRequestInfo* out) {
  out->method.Assign(line.substr(0, method_length));
  const std::string_view rest = line.substr(method_length + 1);
  const std::size_t space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  *target = rest.substr(0, space);
  out->target.Assign(*target);
  const std::string_view version = rest.substr(space + 1);
  return version.size() == 8 && version.substr(0, 5) == "HTTP/";
}

enum class LastHeader { kNone, kOther, kTransferEncoding };

struct HeaderState {
  bool seen_host = false;
  bool seen_content_length = false;
  LastHeader last = LastHeader::kNone;
};

bool ApplyHeader(std::string_view line, HeaderState* state, HttpRequestInfo* out) {
  if (IsOws(line.front())) {  // obs-fold: continues the previous header
    if (state->last == LastHeader::kNone) return false;
    if (state->last == LastHeader::kTransferEncoding && HasChunkedCoding(line)) out->chunked = true;
    return true;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || IsOws(line[colon - 1])) return false;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = TrimOws(line.substr(colon + 1));
  state->last = LastHeader::kOther;
  if (EqualsIgnoreCase(name, "host")) {
    HostName host;
    if (!HostFromAuthority(value, &host)) return false;
    // Two different Host values would let a client show the firewall one
    // name and the server another.
    if (state->seen_host && !(host == out->host)) return false;
    state->seen_host = true;
    out->host = host;
  } else if (EqualsIgnoreCase(name, "content-length")) {
    std::uint64_t length = 0;
    if (!ParseContentLength(value, &length)) return false;
    if (state->seen_content_length && length != out->content_length) return false;
    state->seen_content_length = true;
    out->content_length = length;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    state->last = LastHeader::kTransferEncoding;
    if (HasChunkedCoding(value)) out->chunked = true;
  }
  return true;
}

}  // namespace

ParseStatus ParseHttpRequestHead(std::span<const std::uint8_t> stream, HttpRequestInfo* out) {
  *out = HttpRequestInfo{};
  std::size_t method_length = 0;
  const ParseStatus method =
      MatchMethod(AsText(stream.first(std::min<std::size_t>(stream.size(), 16))), &method_length);
  if (method != ParseStatus::kOk) return method;

  // Only the first kMaxHeadBytes may hold the head; a head that has not ended
  // by then is hostile or broken, not merely incomplete. Each line is checked
  // as soon as its LF arrives, so a prefix yields kNeedMore or the same error.
  const ParseStatus incomplete = stream.size() >= HttpRequestInfo::kMaxHeadBytes
                                     ? ParseStatus::kMalformed
                                     : ParseStatus::kNeedMore;
  ByteCursor cursor(stream.first(std::min(stream.size(), HttpRequestInfo::kMaxHeadBytes)));
  std::string_view line;
  if (!NextLine(&cursor, &line)) return incomplete;
  std::string_view target;
  if (!ParseRequestLine(line, method_length, &target, out)) return ParseStatus::kMalformed;
  HeaderState state;
  for (;;) {
    if (!NextLine(&cursor, &line)) return incomplete;
    if (line.empty()) break;
    if (!ApplyHeader(line, &state, out)) return ParseStatus::kMalformed;
  }
  out->head_length = cursor.Position();

  if (out->host.Empty()) {
    std::string_view authority;
    const bool is_connect = out->method.View() == "CONNECT";
    if (is_connect) authority = target;
    if (is_connect || AuthorityFromAbsoluteTarget(target, &authority)) {
      if (!HostFromAuthority(authority, &out->host)) return ParseStatus::kMalformed;
      out->host_from_target = !out->host.Empty();
    }
  }
  out->has_host = !out->host.Empty();
  return ParseStatus::kOk;
}

}  // namespace flightwall
