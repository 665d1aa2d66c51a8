// Fuzzes the evidence-cache reader (fusion/qa_cache.h). The input becomes the body of a file
// with a valid header and checksum, so that the length-prefixed fields themselves are what
// the fuzzer explores: any bytes must give examples or "corrupt", never a crash, a hang or a
// huge allocation.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/sha256.h"
#include "fusion/qa_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("qa_cache_fuzz_" + std::to_string(::getpid()))).string();
  const std::string key(64, 'k');
  std::string file = std::string("SPADEQAX") + char(1) + key;
  file.append(reinterpret_cast<const char*>(data), size);
  spade::Sha256 sha;
  sha.Update(file);
  file += sha.HexDigest();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file;
  }
  std::string why;
  auto examples = spade::fusion::LoadQaExamples(path, key, &why);
  if (!examples && why.rfind("corrupt", 0) != 0) __builtin_trap();
  return 0;
}
