// ResearchTable: the rows of rules/catalog/RESEARCH.md, the public record of
// hosts DJI flight apps contact, with the category the shipped catalog is
// expected to give each one ("-" when no entry names it). Read by the
// catalog test and the capture test so both check the same table.
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace flightwall::testing {

struct ResearchRow {
  std::string host;
  std::string label;  // expected catalog category, "-" when uncatalogued
  std::string source;
};

inline constexpr const char* kResearchTablePath =
    FLIGHTWALL_SOURCE_DIR "/rules/catalog/RESEARCH.md";

inline std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Table rows look like "| `host` | role | label | [SRC] |".
inline std::vector<ResearchRow> ReadResearchTable(const std::string& path = kResearchTablePath) {
  std::vector<ResearchRow> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::size_t start = 1;
    for (std::size_t bar = line.find('|', start); bar != std::string::npos;
         bar = line.find('|', start)) {
      cells.push_back(Trim(line.substr(start, bar - start)));
      start = bar + 1;
    }
    if (cells.size() != 4) continue;
    ResearchRow row;
    row.host = cells[0].substr(1, cells[0].size() - 2);  // strip the backticks
    row.label = cells[2];
    row.source = cells[3];
    rows.push_back(row);
  }
  return rows;
}

}  // namespace flightwall::testing
