// XML/HTML text escaping for report writers. Bytes that are not valid in
// XML 1.0 text (control characters, from DNS tunnel names) are replaced
// with '?', so a hostile name cannot break the document.
#pragma once

#include <string>
#include <string_view>

namespace flightwall {

inline std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are invalid in XML; bytes >= 0x80 could form
        // invalid UTF-8 (names are bytes, not text).
        if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x80) {
          out += '?';
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace flightwall
