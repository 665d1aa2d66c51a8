// Grounding: text -> the knowledge-graph concepts it mentions, as KagNet grounds
// CommonsenseQA (tokenize, lemmatize, match n-grams against the concept vocabulary), with
// character spans kept so a user can see which words became which concept.
//
// Matching, per start token, longest n-gram first (n <= Options::max_ngram); each n-gram is
// tried with every word lemmatized ("dug" -> "dig"), with its last word lemmatized
// ("ice creams" -> "ice_cream") and as written; the variant naming the best-connected
// concept wins ("ground" stays ground rather than "grind"; ties go to the lemma). A whole
// answer phrase takes the first variant that matches, as written first ("saw" stays the tool). Mentions nested inside a longer one are kept (KagNet keeps every matched
// n-gram: "ice cream" yields ice_cream, ice and cream) unless Options::keep_nested is false.
// Dropped: n-grams made only of stopwords, and the over-general concepts of
// kOverGeneralConcepts (documented in grounding.cc), which link to everything and explain
// nothing.
//
// Thread-safety: a Grounder is immutable after construction; concurrent calls are safe.
// It keeps a reference to the Graph and the Lemmatizer, which must outlive it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kg/graph.h"
#include "retrieval/lemmatizer.h"

namespace spade::retrieval {

// A token of the input: a maximal run of ASCII letters/digits (bytes >= 0x80 count as
// letters, so UTF-8 words stay whole). [begin, end) are byte offsets into the text.
struct Token {
  std::string text;  // lowercased
  size_t begin = 0;
  size_t end = 0;
};

std::vector<Token> Tokenize(std::string_view text);

struct Mention {
  kg::ConceptId concept_id = 0;
  std::string concept_name;  // as in the graph, e.g. "ice_cream"
  size_t begin = 0;          // byte span of the mention in the grounded text
  size_t end = 0;
  std::string surface;       // text.substr(begin, end - begin)
};

struct GroundingOptions {
  size_t max_ngram = 4;      // longest n-gram tried (ConceptNet names rarely exceed 4 words)
  bool keep_nested = true;   // keep mentions inside a longer mention (KagNet does)
};

// The concepts of one (question, choice) pair.
struct PairConcepts {
  std::vector<Mention> question;  // stem mentions (+ question_concept), minus answer concepts
  std::vector<Mention> answer;    // choice mentions / whole phrase / head word
};

// One flag per concept of `graph`: true for the over-general concepts (IsOverGeneral), for
// PathOptions::no_transit.
std::vector<bool> OverGeneralMask(const kg::Graph& graph);

class Grounder {
 public:
  Grounder(const kg::Graph& graph, const Lemmatizer& lemmatizer, GroundingOptions options = {});

  // Mentions in text order (by begin, then longer first). Empty text gives no mentions.
  std::vector<Mention> Ground(std::string_view text) const;

  // Question concepts: the stem's mentions, plus `question_concept` (the data set's field,
  // may be empty) when it grounds to a concept, de-duplicated by concept.
  std::vector<Mention> QuestionConcepts(std::string_view stem,
                                        std::string_view question_concept = {}) const;

  // Answer concepts of one choice: its mentions; when the whole choice phrase (or its
  // lemmatized form) is a concept it comes first, even an over-general one ("person"); when nothing matched, its head word
  // (last content word, lemmatized) if that is a concept. Empty when nothing grounds.
  std::vector<Mention> AnswerConcepts(std::string_view choice) const;

  // Both sides of a pair; concepts found on the answer side are removed from the question
  // side (KagNet), so that a path never starts and ends at the same concept.
  PairConcepts Pair(std::string_view stem, std::string_view question_concept,
                    std::string_view choice) const;

  // Whether `word` (lowercase) is in the stopword list.
  static bool IsStopword(std::string_view word);
  // Whether `concept_name` is one of the over-general concepts never used as a mention.
  static bool IsOverGeneral(std::string_view concept_name);

 private:
  std::optional<kg::ConceptId> MatchNgram(const std::vector<Token>& tokens, size_t i, size_t n,
                                          const std::vector<std::string>& lemmas,
                                          bool allow_general, bool lemma_first) const;

  const kg::Graph& graph_;
  const Lemmatizer& lemmatizer_;
  GroundingOptions options_;
};

}  // namespace spade::retrieval
