// Text helpers shared by the corpus readers and the corpus builder: UTF-8 validation,
// whitespace clean-up, word counts, the normalised form used for de-duplication, a stable
// 64-bit hash, a rule-based sentence splitter and the filters for text a model should not
// learn from (mis-encoded characters, slurs).
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spade::data::corpus {

// True when `text` is valid UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Tabs, newlines and Unicode spaces (U+00A0, U+2000-U+200A, U+202F, U+3000) become ' ',
// runs of spaces collapse to one, leading and trailing spaces go. Expects valid UTF-8.
std::string CleanWhitespace(std::string_view text);

// The items with `separator` between them.
std::string Join(const std::vector<std::string>& items, std::string_view separator);

// Whitespace-separated tokens: the "words" counted in the manifest.
uint64_t CountWords(std::string_view text);

// The form two sentences must share to count as duplicates: ASCII letters lowercased,
// every ASCII character that is not a letter or digit dropped (so case, spacing and
// punctuation differences do not matter), other bytes kept as they are.
std::string DedupKey(std::string_view sentence);

// FNV-1a 64 followed by a murmur-style finaliser: stable across runs and platforms, so
// de-duplication and the held-out split do not depend on the standard library's hash.
uint64_t Hash64(std::string_view bytes, uint64_t seed = 0);

// Splits running text into sentences at '.', '!' or '?' (optionally followed by closing
// quotes or brackets) when a space and an upper-case letter, digit or opening quote follow,
// unless the word before the stop is a known abbreviation ("e.g.", "Gr.", "Mr.") or a
// single letter (an initial). Good enough for dictionary definitions; not a general
// segmenter. Returns cleaned, non-empty sentences.
std::vector<std::string> SplitSentences(std::string_view text);

// Text whose bytes show mis-encoding: U+FFFD, C0 controls other than tab and newline, C1
// controls (U+0080-U+009F, i.e. Windows-1252 bytes decoded as Latin-1) and the classic
// UTF-8-read-as-Latin-1 sequences ("Ã©", "â€™", "Â "). Returns the reason, or nullptr.
const char* MisEncodingReason(std::string_view text);

// True when a word of `text` (ASCII letters, case-insensitive) is one of a short list of
// unambiguous slurs. The list is deliberately small: words with innocent senses stay.
bool ContainsSlur(std::string_view text);

}  // namespace spade::data::corpus
