// WordNet morphology ("morphy"): maps an inflected English word to its base forms using
// WordNet 3.0's exception lists (`{noun,verb,adj,adv}.exc`) and its detachment (suffix)
// rules, keeping only forms that WordNet's index lists for that part of speech.
//
// Thread-safety: immutable after Load; concurrent calls are safe.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace spade::retrieval {

enum class Pos { kNoun = 0, kVerb = 1, kAdj = 2, kAdv = 3 };

inline constexpr std::string_view kDefaultWordNetDir = "/usr/share/wordnet";

class Lemmatizer {
 public:
  // Reads index.{noun,verb,adj,adv} and {noun,verb,adj,adv}.exc from `dir`. Throws
  // spade::Error kNotFound when a file is missing (names the path and the Debian package).
  static Lemmatizer Load(std::string_view dir = kDefaultWordNetDir);

  // Base forms of `word` (lowercase ASCII expected; spaces written '_') for one part of
  // speech, in morphy's order: exception-list forms first, then the word itself if
  // WordNet knows it, then the results of the suffix rules that WordNet knows. Empty when
  // WordNet knows no form. No duplicates.
  std::vector<std::string> Lemmas(std::string_view word, Pos pos) const;

  // One base form for grounding: the first exception-list form in noun, verb, adjective,
  // adverb order ("dug" -> "dig", "geese" -> "goose"), else the first of the noun, verb,
  // adjective, adverb lemmas ("flowers" -> "flower"); `word` itself when WordNet knows none.
  std::string Lemma(std::string_view word) const;

  bool InIndex(std::string_view word, Pos pos) const;

 private:
  std::array<std::unordered_set<std::string>, 4> index_;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, 4> exceptions_;
};

}  // namespace spade::retrieval
