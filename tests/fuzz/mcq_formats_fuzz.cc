// Fuzzes the Social IQa / PIQA line parsers and the format detector (data/mcq_formats.h):
// malformed input must raise spade::Error (ParseError included), never crash.
#include <cstdint>
#include <string_view>

#include "data/error.h"
#include "data/mcq_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    spade::data::DetectMcqFormatFromLine(line, "fuzz:1");
  } catch (const spade::Error&) {
  }
  try {
    if (spade::data::ParseSocialIqaLine(line, "fuzz:1").choices.size() != 3) __builtin_trap();
  } catch (const spade::Error&) {
  }
  try {
    if (spade::data::ParsePiqaLine(line, "fuzz:1").choices.size() != 2) __builtin_trap();
  } catch (const spade::Error&) {
  }
  return 0;
}
