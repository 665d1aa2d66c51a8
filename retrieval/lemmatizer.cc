#include "retrieval/lemmatizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data/error.h"

namespace spade::retrieval {
namespace {

constexpr std::array<std::string_view, 4> kPosFile = {"noun", "verb", "adj", "adv"};

struct Rule {
  std::string_view suffix;
  std::string_view replacement;
};

// WordNet's morphy detachment rules (wndb(5WN) "morphy"), per part of speech.
const std::vector<Rule>& Rules(Pos pos) {
  static const std::vector<Rule> kNoun = {{"s", ""},     {"ses", "s"}, {"xes", "x"},
                                          {"zes", "z"},  {"ches", "ch"}, {"shes", "sh"},
                                          {"men", "man"}, {"ies", "y"}};
  static const std::vector<Rule> kVerb = {{"s", ""},   {"ies", "y"}, {"es", "e"}, {"es", ""},
                                          {"ed", "e"}, {"ed", ""},   {"ing", "e"}, {"ing", ""}};
  static const std::vector<Rule> kAdj = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}};
  static const std::vector<Rule> kNone = {};
  switch (pos) {
    case Pos::kNoun: return kNoun;
    case Pos::kVerb: return kVerb;
    case Pos::kAdj: return kAdj;
    case Pos::kAdv: return kNone;
  }
  return kNone;
}

std::ifstream OpenWordNetFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw NotFound("WordNet file " + path +
                   " not found (install the Debian package wordnet-base, or pass its directory)");
  }
  return in;
}

}  // namespace

Lemmatizer Lemmatizer::Load(std::string_view dir) {
  Lemmatizer lem;
  for (size_t p = 0; p < 4; ++p) {
    const std::string base = std::string(dir) + "/";
    {
      std::ifstream in = OpenWordNetFile(base + "index." + std::string(kPosFile[p]));
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == ' ') continue;  // licence header lines start with "  "
        lem.index_[p].insert(line.substr(0, line.find(' ')));
      }
    }
    {
      std::ifstream in = OpenWordNetFile(base + std::string(kPosFile[p]) + ".exc");
      std::string line;
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string inflected, base_form;
        if (!(fields >> inflected)) continue;
        auto& forms = lem.exceptions_[p][inflected];
        while (fields >> base_form) forms.push_back(base_form);
      }
    }
  }
  return lem;
}

bool Lemmatizer::InIndex(std::string_view word, Pos pos) const {
  return index_[static_cast<size_t>(pos)].contains(std::string(word));
}

std::vector<std::string> Lemmatizer::Lemmas(std::string_view word, Pos pos) const {
  std::vector<std::string> out;
  auto add = [&](std::string form) {
    if (std::find(out.begin(), out.end(), form) == out.end()) out.push_back(std::move(form));
  };
  const size_t p = static_cast<size_t>(pos);
  const std::string w(word);
  if (auto it = exceptions_[p].find(w); it != exceptions_[p].end()) {
    for (const std::string& form : it->second) add(form);
  }
  if (index_[p].contains(w)) add(w);
  // Nouns ending in "ss" ("glass", "boss") are not plurals: morphy leaves them alone.
  if (pos == Pos::kNoun && w.size() > 2 && w.ends_with("ss")) return out;
  for (const Rule& rule : Rules(pos)) {
    if (w.size() <= rule.suffix.size() || !w.ends_with(rule.suffix)) continue;
    std::string form = w.substr(0, w.size() - rule.suffix.size()) + std::string(rule.replacement);
    if (index_[p].contains(form)) add(std::move(form));
  }
  return out;
}

std::string Lemmatizer::Lemma(std::string_view word) const {
  // Irregular forms first, whatever their part of speech: "dug" is also a noun (an udder),
  // but the verb exception "dug -> dig" is what questions mean far more often.
  const std::string w(word);
  for (size_t p = 0; p < 4; ++p) {
    if (auto it = exceptions_[p].find(w); it != exceptions_[p].end() && !it->second.empty()) {
      return it->second.front();
    }
  }
  for (Pos pos : {Pos::kNoun, Pos::kVerb, Pos::kAdj, Pos::kAdv}) {
    std::vector<std::string> forms = Lemmas(word, pos);
    if (!forms.empty()) return forms.front();
  }
  return std::string(word);
}

}  // namespace spade::retrieval
