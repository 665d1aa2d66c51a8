// Fuzzes the safetensors header parser and float reads: any byte string must either parse
// (and then every tensor must be readable within the buffer) or raise encoder::Error;
// never crash or read out of bounds (ASan checks the latter).
#include <cstdint>
#include <vector>

#include "encoder/error.h"
#include "encoder/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = spade::encoder::SafetensorsFile::FromBytes(std::vector<uint8_t>(data, data + size), "fuzz");
    for (const auto& t : file.header().tensors) {
      try {
        (void)file.ReadFloat(t);
      } catch (const spade::encoder::Error&) {
      }
    }
  } catch (const spade::encoder::Error&) {
  }
  return 0;
}
