#include "retrieval/grounding.h"

#include <algorithm>
#include <iterator>
#include <unordered_set>

namespace spade::retrieval {
namespace {

// Function words: an n-gram made only of these is never a mention ("it", "what", "in the").
// They may still sit inside a longer concept ("out_of_order", "go_to_bed").
constexpr std::string_view kStopwords[] = {
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "down", "during",
    "each", "either", "else", "ever", "few", "for", "from", "further", "had", "has", "have",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "itself", "just", "let", "may", "me", "might", "more",
    "most", "much", "must", "my", "myself", "no", "nor", "not", "now", "of", "off", "often",
    "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
    "quite", "rather", "s", "same", "shall", "she", "should", "so", "some", "such", "t", "than", "us",
    "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "will",
    "with", "would", "you", "your", "yours"};

// Concepts that ConceptNet links to almost everything, so a path through them explains
// nothing (KagNet's blacklist has the same spirit: "make", "want", "one", "something").
constexpr std::string_view kOverGeneral[] = {
    "be", "have", "do", "make", "get", "go", "take", "give", "put", "come", "want", "need",
    "like", "use", "used", "thing", "things", "something", "anything", "everything",
    "nothing", "someone", "somebody", "anyone", "anybody", "everyone", "everybody", "one",
    "person", "people", "sometimes", "likely", "actually", "possibly", "kind", "way"};

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

}  // namespace

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    std::string word;
    while (j < text.size() && IsWordByte(static_cast<unsigned char>(text[j]))) {
      char c = text[j];
      word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      ++j;
    }
    tokens.push_back({std::move(word), i, j});
    i = j;
  }
  return tokens;
}

bool Grounder::IsStopword(std::string_view word) {
  static const std::unordered_set<std::string_view> set(std::begin(kStopwords), std::end(kStopwords));
  return set.contains(word);
}

bool Grounder::IsOverGeneral(std::string_view concept_name) {
  static const std::unordered_set<std::string_view> set(std::begin(kOverGeneral), std::end(kOverGeneral));
  return set.contains(concept_name);
}

std::vector<bool> OverGeneralMask(const kg::Graph& graph) {
  std::vector<bool> mask(graph.num_concepts(), false);
  for (std::string_view name : kOverGeneral) {
    if (auto id = graph.find(name)) mask[*id] = true;
  }
  return mask;
}

Grounder::Grounder(const kg::Graph& graph, const Lemmatizer& lemmatizer, GroundingOptions options)
    : graph_(graph), lemmatizer_(lemmatizer), options_(options) {}

std::optional<kg::ConceptId> Grounder::MatchNgram(const std::vector<Token>& tokens, size_t i,
                                                  size_t n,
                                                  const std::vector<std::string>& lemmas,
                                                  bool allow_general, bool lemma_first) const {
  bool all_stop = true;
  for (size_t k = i; k < i + n; ++k) all_stop = all_stop && IsStopword(tokens[k].text);
  if (all_stop) return std::nullopt;
  // Variants: every word lemmatized, last word lemmatized, as written. In running text the
  // variant naming the best-connected concept wins (ties: lemma first), so "dug" -> dig
  // (WordNet also has the noun "dug") but "ground" stays ground (not "grind"). For a whole
  // answer phrase (lemma_first false) the first variant that is a concept wins, as written
  // first: the choice "saw" is the tool, not "see".
  std::optional<kg::ConceptId> best;
  for (int step = 0; step < 3; ++step) {
    const int variant = lemma_first ? 2 - step : step;  // 0 written, 1 last, 2 every word
    std::string name;
    for (size_t k = i; k < i + n; ++k) {
      if (k > i) name.push_back('_');
      const bool lemmatize = variant == 2 || (variant == 1 && k + 1 == i + n);
      name += lemmatize ? lemmas[k] : tokens[k].text;
    }
    if (!allow_general && IsOverGeneral(name)) return std::nullopt;
    if (auto id = graph_.find(name)) {
      if (!lemma_first) return id;
      if (!best || graph_.degree(*id) > graph_.degree(*best)) best = id;
    }
  }
  return best;
}

std::vector<Mention> Grounder::Ground(std::string_view text) const {
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<std::string> lemmas;
  lemmas.reserve(tokens.size());
  for (const Token& t : tokens) lemmas.push_back(lemmatizer_.Lemma(t.text));

  std::vector<Mention> mentions;
  size_t covered_until = 0;  // token index up to which a longer mention already covers
  for (size_t i = 0; i < tokens.size(); ++i) {
    const size_t max_n = std::min(options_.max_ngram, tokens.size() - i);
    for (size_t n = max_n; n >= 1; --n) {
      const bool nested = i + n <= covered_until;
      if (nested && !options_.keep_nested) break;
      std::optional<kg::ConceptId> id = MatchNgram(tokens, i, n, lemmas, /*allow_general=*/false, /*lemma_first=*/true);
      if (!id) continue;
      const size_t begin = tokens[i].begin, end = tokens[i + n - 1].end;
      mentions.push_back(
          {*id, graph_.concept_name(*id), begin, end, std::string(text.substr(begin, end - begin))});
      covered_until = std::max(covered_until, i + n);
      if (!options_.keep_nested) break;
    }
  }
  std::stable_sort(mentions.begin(), mentions.end(), [](const Mention& a, const Mention& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  return mentions;
}

namespace {

void AddUnique(std::vector<Mention>* out, Mention m) {
  for (const Mention& x : *out) {
    if (x.concept_id == m.concept_id) return;
  }
  out->push_back(std::move(m));
}

}  // namespace

std::vector<Mention> Grounder::QuestionConcepts(std::string_view stem,
                                                std::string_view question_concept) const {
  std::vector<Mention> out;
  for (Mention& m : Ground(stem)) AddUnique(&out, std::move(m));
  if (!question_concept.empty()) {
    // The data set's concept is a phrase ("revolving door"); ground it as a whole first.
    std::vector<Mention> qc = AnswerConcepts(question_concept);
    if (!qc.empty()) {
      Mention m = qc.front();
      // Point its span at the stem when the phrase occurs there; else no span (0, 0).
      m.begin = m.end = 0;
      for (const Mention& s : out) {
        if (s.concept_id == m.concept_id) m = s;
      }
      AddUnique(&out, std::move(m));
    }
  }
  return out;
}

std::vector<Mention> Grounder::AnswerConcepts(std::string_view choice) const {
  std::vector<Mention> out;
  const std::vector<Token> tokens = Tokenize(choice);
  if (tokens.empty()) return out;
  // The whole phrase, as written or with its last word / every word lemmatized.
  {
    std::vector<std::string> lemmas;
    for (const Token& t : tokens) lemmas.push_back(lemmatizer_.Lemma(t.text));
    // A choice that is itself a general concept ("person") is still that concept.
    if (auto id = MatchNgram(tokens, 0, tokens.size(), lemmas, /*allow_general=*/true, /*lemma_first=*/false)) {
      const size_t begin = tokens.front().begin, end = tokens.back().end;
      out.push_back({*id, graph_.concept_name(*id), begin, end,
                     std::string(choice.substr(begin, end - begin))});
    }
  }
  const bool whole = !out.empty();
  for (Mention& m : Ground(choice)) {
    // The whole phrase was matched as written; its lemmatized twin adds nothing.
    if (whole && m.begin == out.front().begin && m.end == out.front().end) continue;
    AddUnique(&out, std::move(m));
  }
  if (out.empty()) {
    // Head word: the last content word, lemmatized ("a very tall building" -> "building").
    for (size_t k = tokens.size(); k-- > 0;) {
      if (IsStopword(tokens[k].text)) continue;
      const std::string lemma = lemmatizer_.Lemma(tokens[k].text);
      for (const std::string& name : {tokens[k].text, lemma}) {
        if (auto id = graph_.find(name)) {
          out.push_back({*id, name, tokens[k].begin, tokens[k].end, tokens[k].text});
          return out;
        }
      }
      break;
    }
  }
  return out;
}

PairConcepts Grounder::Pair(std::string_view stem, std::string_view question_concept,
                            std::string_view choice) const {
  PairConcepts pc;
  pc.answer = AnswerConcepts(choice);
  for (Mention& m : QuestionConcepts(stem, question_concept)) {
    bool in_answer = false;
    for (const Mention& a : pc.answer) in_answer = in_answer || a.concept_id == m.concept_id;
    if (!in_answer) pc.question.push_back(std::move(m));
  }
  return pc;
}

}  // namespace spade::retrieval
