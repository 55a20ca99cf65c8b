// Turning policy text into a yaml-cpp tree, with the guards hostile input
// needs. yaml-cpp 0.7 parses recursively; its own DepthGuard stops at a few
// hundred levels (checked under ASan with a 1 MiB stack), so the pre-scan
// here is a second line that also gives a clearer message.
#include <yaml-cpp/depthguard.h>

#include <string>
#include <vector>

#include "policy/yaml_helpers.h"

namespace flightwall {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// A quote opens a quoted scalar only where a token starts; inside a plain
// scalar ("DJI's") it is just a character.
bool StartsToken(std::string_view line, std::size_t pos) {
  if (pos == 0) return true;
  const char prev = line[pos - 1];
  return IsBlank(prev) || prev == '[' || prev == '{' || prev == ',';
}

}  // namespace

int FindExcessiveNesting(std::string_view text) {
  std::vector<std::size_t> indents;  // columns of open block levels
  int flow_depth = 0;
  bool in_double = false;
  bool in_single = false;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    std::size_t pos = 0;
    std::size_t block_depth = indents.size();
    if (!in_double && !in_single && flow_depth == 0) {
      while (pos < line.size() && IsBlank(line[pos])) ++pos;
      if (pos == line.size() || line[pos] == '#' || line[pos] == '\r') continue;
      while (!indents.empty() && indents.back() > pos) indents.pop_back();
      if (indents.empty() || indents.back() < pos) indents.push_back(pos);
      block_depth = indents.size();
      // "- - - x" and "? ? x" nest without changing indentation.
      while (pos < line.size() && (line[pos] == '-' || line[pos] == '?') &&
             (pos + 1 == line.size() || IsBlank(line[pos + 1]))) {
        ++block_depth;
        pos += 1;
        while (pos < line.size() && IsBlank(line[pos])) ++pos;
      }
    }
    for (; pos < line.size(); ++pos) {
      const char c = line[pos];
      if (in_double) {
        if (c == '\\') {
          ++pos;
        } else if (c == '"') {
          in_double = false;
        }
        continue;
      }
      if (in_single) {
        if (c == '\'') {
          if (pos + 1 < line.size() && line[pos + 1] == '\'') {
            ++pos;
          } else {
            in_single = false;
          }
        }
        continue;
      }
      if (c == '#' && (pos == 0 || IsBlank(line[pos - 1]))) break;
      if ((c == '"' || c == '\'') && StartsToken(line, pos)) {
        (c == '"' ? in_double : in_single) = true;
      } else if (c == '[' || c == '{') {
        ++flow_depth;
      } else if ((c == ']' || c == '}') && flow_depth > 0) {
        --flow_depth;
      }
      if (block_depth + static_cast<std::size_t>(flow_depth) >
          static_cast<std::size_t>(kMaxYamlNesting)) {
        return line_number;
      }
    }
    if (block_depth > static_cast<std::size_t>(kMaxYamlNesting)) return line_number;
  }
  return 0;
}

std::optional<YAML::Node> ParseYaml(YamlFile& file, const std::string& text) {
  if (const int line = FindExcessiveNesting(text); line != 0) {
    YAML::Mark mark;
    mark.line = line - 1;
    mark.column = -1;
    file.Error(mark, "YAML nested more than " + std::to_string(kMaxYamlNesting) +
                         " levels deep; a policy never needs that, so it is refused unparsed");
    return std::nullopt;
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    file.Error(e.mark, "YAML nested too deeply; a policy never needs that");
  } catch (const YAML::ParserException& e) {
    std::string message = "YAML syntax error: " + e.msg;
    if (e.msg.find("alias") != std::string::npos || e.msg.find("anchor") != std::string::npos) {
      message += "; a leading '*' starts a YAML alias, so quote wildcard hosts: \"*.example.com\"";
    } else {
      message += "; check indentation, colons and brackets near here";
    }
    file.Error(e.mark, std::move(message));
  } catch (const YAML::Exception& e) {
    file.Error(e.mark, "cannot read YAML: " + e.msg);
  }
  return std::nullopt;
}

}  // namespace flightwall
