// Shared step of the merge-based vocabulary trainers (byte-level BPE, WordPiece): find the
// most frequent adjacent symbol pair over a weighted word list. Internal to encoder/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace spade::encoder {

using SymbolPair = std::pair<std::string, std::string>;
using WeightedWords = std::vector<std::pair<std::vector<std::string>, int64_t>>;  // (symbols, count)

// The pair with the largest total count, ties broken by the pair's order (deterministic);
// *count gets its count. Returns false when no word has two symbols.
inline bool MostFrequentPair(const WeightedWords& words, SymbolPair* best, int64_t* count) {
  std::map<SymbolPair, int64_t> pairs;
  for (const auto& [parts, c] : words) {
    for (size_t i = 0; i + 1 < parts.size(); ++i) pairs[{parts[i], parts[i + 1]}] += c;
  }
  const SymbolPair* top = nullptr;
  int64_t top_count = 0;
  for (const auto& [pr, c] : pairs) {
    if (c > top_count) {
      top_count = c;
      top = &pr;
    }
  }
  if (top == nullptr) return false;
  *best = *top;
  *count = top_count;
  return true;
}

}  // namespace spade::encoder
