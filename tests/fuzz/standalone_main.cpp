// Replays files (or every file under directories) through a fuzz target's
// LLVMFuzzerTestOneInput, plus every prefix of the first 4 KiB and each
// 1500-byte window, so truncation at each byte is exercised. Paths after
// `--whole` (a fuzz corpus, crash regressions: inputs libFuzzer already
// varied) are replayed as they are, once each. Used where libFuzzer is not
// linked.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void RunFile(const std::filesystem::path& p, bool whole, std::size_t* runs) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  ++*runs;
  if (whole) return;
  const std::size_t limit = bytes.size() < 4096 ? bytes.size() : 4096;
  for (std::size_t n = 0; n < limit; ++n) {
    LLVMFuzzerTestOneInput(bytes.data(), n);
    ++*runs;
  }
  // Also feed each 1500-byte window, as a packet-sized slice of the file.
  for (std::size_t off = 0; off + 1 < bytes.size() && off < (1u << 20); off += 1499) {
    const std::size_t n = bytes.size() - off < 1500 ? bytes.size() - off : 1500;
    LLVMFuzzerTestOneInput(bytes.data() + off, n);
    ++*runs;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t runs = 0;
  std::size_t files = 0;
  bool whole = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--whole") {
      whole = true;
      continue;
    }
    const std::filesystem::path p = argv[i];
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) {
          RunFile(e.path(), whole, &runs);
          ++files;
        }
      }
    } else if (std::filesystem::is_regular_file(p)) {
      RunFile(p, whole, &runs);
      ++files;
    }
  }
  std::printf("replayed %zu inputs from %zu files\n", runs, files);
  return 0;
}
