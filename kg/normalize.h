// One way to spell a concept across every source (documented in kg/FORMAT.md):
// Unicode NFC, lowercase (utf8proc case folding), runs of whitespace and '_' become one '_',
// leading/trailing '_' trimmed. "Ice Cream" -> "ice_cream", "/c/en/ice_cream" is handled by
// the ConceptNet importer before this.
#pragma once

#include <string>
#include <string_view>

namespace spade::kg {

// Returns the normalised name; empty if nothing is left. Throws spade::Error
// kInvalidArgument if `text` is not valid UTF-8.
std::string NormalizeConcept(std::string_view text);

// True when `text` is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace spade::kg
