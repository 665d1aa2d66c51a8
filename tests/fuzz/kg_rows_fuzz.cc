// Fuzzes the KG row parsers and name normalisation: any bytes must parse or be rejected
// with a reason, never crash; accepted rows must satisfy the importer's invariants.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kg/import.h"
#include "kg/normalize.h"

namespace {
void CheckAssertion(spade::kg::RowResult r, const spade::kg::RawAssertion& a, const std::string& reason) {
  using spade::kg::RowResult;
  if (r == RowResult::kAssertion) {
    if (a.head.empty() || a.tail.empty() || a.relation.empty() || a.head == a.tail || !(a.weight >= 0)) std::abort();
    if (!spade::kg::IsValidUtf8(a.head) || !spade::kg::IsValidUtf8(a.tail)) std::abort();
    if (spade::kg::NormalizeConcept(a.head) != a.head) std::abort();  // normalisation is idempotent
  }
  if (r == RowResult::kError && reason.empty()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  spade::kg::RawAssertion a;
  std::string reason;
  spade::kg::RowOptions options;
  reason.clear();
  CheckAssertion(spade::kg::ParseConceptNet5Row(line, options, &a, &reason), a, reason);
  reason.clear();
  CheckAssertion(spade::kg::ParseRelHeadTailRow(line, &a, &reason), a, reason);
  reason.clear();
  CheckAssertion(spade::kg::ParseTsvRow(line, &a, &reason), a, reason);
  return 0;
}
