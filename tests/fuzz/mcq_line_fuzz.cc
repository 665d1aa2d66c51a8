// Fuzzes the QA jsonl line parser: malformed input must raise spade::ParseError, never crash.
#include <cstdint>
#include <string_view>

#include "data/error.h"
#include "data/mcq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    spade::data::McqItem item = spade::data::ParseMcqLine(line, "fuzz:1");
    if (item.choices.size() < 2) return -1;
  } catch (const spade::ParseError&) {
  }
  return 0;
}
