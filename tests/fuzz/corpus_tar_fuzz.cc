// Fuzzes the corpus tar reader: any bytes must give regular files or spade::Error, never a
// crash, an out-of-bounds read or an allocation beyond the member limit.
#include <cstdint>
#include <string_view>

#include "data/corpus/tar.h"
#include "data/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto tar = spade::data::corpus::TarReader::FromMemory(bytes, "fuzz.tar", /*max_member_bytes=*/1 << 20);
    spade::data::corpus::TarEntry entry;
    while (tar->Next(&entry)) {
      if (entry.name.empty() || entry.data.size() > (1u << 20)) __builtin_trap();
    }
  } catch (const spade::Error&) {
  }
  return 0;
}
