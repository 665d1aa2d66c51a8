#include "kg/verbalize.h"

#include <unordered_map>

#include "data/error.h"
#include "data/sha256.h"
#include "kg/metadata_json.h"
#include "kg/store.h"

namespace spade::kg {
namespace {

struct Template {
  const char* pattern;  // "{h}" and "{t}" are the concepts
  bool head_article;    // put "a"/"an" before the head
  bool tail_article;
};

// ConceptNet 5's relation templates (its surface texts), ConceptNet 4's extra relations and
// the WordNet relations of kg/import_wordnet.cc. Left out on purpose: ConceptNet 4's
// HasPainIntensity/HasPainCharacter ("beat -> horrible") and InheritsFrom ("car -> bicycle"),
// whose triples read as nonsense in any template.
const std::unordered_map<std::string_view, Template>& Templates() {
  static const std::unordered_map<std::string_view, Template> kTemplates = {
      {"IsA", {"{h} is a type of {t}", true, false}},
      {"InstanceOf", {"{h} is an instance of {t}", false, false}},
      {"PartOf", {"{h} is part of {t}", true, true}},
      {"HasA", {"{h} has {t}", true, true}},
      {"UsedFor", {"{h} is used for {t}", true, false}},
      {"CapableOf", {"{h} can {t}", true, false}},
      {"AtLocation", {"you are likely to find {h} in {t}", true, true}},
      {"LocatedNear", {"{h} is typically near {t}", true, true}},
      {"SimilarSize", {"{h} is about the same size as {t}", true, true}},
      {"Causes", {"{h} can cause {t}", false, false}},
      {"HasSubevent", {"one of the things you do when you {h} is {t}", false, false}},
      {"HasFirstSubevent", {"the first thing you do when you {h} is {t}", false, false}},
      {"HasLastSubevent", {"the last thing you do when you {h} is {t}", false, false}},
      {"HasPrerequisite", {"something you need to do before you {h} is {t}", false, false}},
      {"HasProperty", {"{h} is {t}", true, false}},
      {"MotivatedByGoal", {"you would {h} because you want to {t}", false, false}},
      {"ObstructedBy", {"{h} can be prevented by {t}", false, false}},
      {"Desires", {"{h} wants {t}", true, false}},
      {"CausesDesire", {"{h} makes you want to {t}", false, false}},
      {"CreatedBy", {"{h} is created by {t}", true, false}},
      {"MadeOf", {"{h} is made of {t}", true, false}},
      {"ReceivesAction", {"{h} can be {t}", true, false}},
      {"DefinedAs", {"{h} is defined as {t}", false, false}},
      {"SymbolOf", {"{h} is a symbol of {t}", false, false}},
      {"MannerOf", {"to {h} is a way to {t}", false, false}},
      {"Entails", {"if you {h}, you {t}", false, false}},
      {"Synonym", {"{h} means the same as {t}", false, false}},
      {"Antonym", {"{h} is the opposite of {t}", false, false}},
      {"DistinctFrom", {"{h} is not the same as {t}", false, false}},
      {"SimilarTo", {"{h} is similar to {t}", false, false}},
      {"RelatedTo", {"{h} is related to {t}", false, false}},
      {"DerivedFrom", {"the word {h} is derived from {t}", false, false}},
      {"FormOf", {"{h} is a form of the word {t}", false, false}},
      {"EtymologicallyRelatedTo", {"the word {h} is related in origin to {t}", false, false}},
      {"EtymologicallyDerivedFrom", {"the word {h} comes from {t}", false, false}},
      {"HasContext", {"{h} is a term used in {t}", false, false}},
      {"LocationOfAction", {"you can {t} at {h}", true, false}},
      {"DesireOf", {"{h} wants {t}", true, false}},
      {"NotDesires", {"{h} does not want {t}", true, false}},
      {"NotCapableOf", {"{h} cannot {t}", true, false}},
      {"NotHasProperty", {"{h} is not {t}", true, false}},
      {"NotIsA", {"{h} is not a type of {t}", true, false}},
      {"NotUsedFor", {"{h} is not used for {t}", true, false}},
      {"NotHasA", {"{h} does not have {t}", true, true}},
      {"NotMadeOf", {"{h} is not made of {t}", true, false}},
      {"Attribute", {"{t} is an attribute of {h}", false, false}},
  };
  return kTemplates;
}

std::string Spaced(std::string_view concept_name) {
  std::string s(concept_name);
  for (char& c : s) {
    if (c == '_') c = ' ';
  }
  return s;
}

// "dog" -> "a dog", "apple" -> "an apple"; names that start with a determiner, a digit, or
// whose last word ends in -s (a plural, mostly) are left alone.
std::string WithArticle(const std::string& name) {
  if (name.empty()) return name;
  static const char* kDeterminers[] = {"a",   "an",   "the",  "some",  "any",   "your", "my",    "his",
                                       "her", "its",  "our",  "their", "this",  "that", "these", "those",
                                       "one", "many", "most", "all",   "every", "each", "no",    "another"};
  std::string first = name.substr(0, name.find(' '));
  for (const char* d : kDeterminers) {
    if (first == d) return name;
  }
  unsigned char c0 = static_cast<unsigned char>(name[0]);
  if (c0 >= '0' && c0 <= '9') return name;
  std::string last = name.substr(name.rfind(' ') == std::string::npos ? 0 : name.rfind(' ') + 1);
  if (last.size() > 3 && last.back() == 's' && !last.ends_with("ss") && !last.ends_with("us") &&
      !last.ends_with("is")) {
    return name;
  }
  bool vowel = c0 == 'a' || c0 == 'e' || c0 == 'i' || c0 == 'o' || c0 == 'u';
  std::string out = vowel ? "an " : "a ";
  return out + name;
}

}  // namespace

std::optional<std::string> VerbalizeTriple(std::string_view head, std::string_view relation, std::string_view tail) {
  auto it = Templates().find(relation);
  if (it == Templates().end()) return std::nullopt;
  const Template& t = it->second;
  std::string h = Spaced(head), tl = Spaced(tail);
  if (t.head_article) h = WithArticle(h);
  if (t.tail_article) tl = WithArticle(tl);
  std::string out;
  for (const char* p = t.pattern; *p != '\0'; ++p) {
    if (p[0] == '{' && (p[1] == 'h' || p[1] == 't') && p[2] == '}') {
      out += p[1] == 'h' ? h : tl;
      p += 2;
    } else {
      out.push_back(*p);
    }
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  out.push_back('.');
  return out;
}

VerbalizeStats VerbalizeGraph(const Graph& g, const std::function<void(data::corpus::Document&&)>& sink,
                              const std::function<void(uint64_t, uint64_t)>& on_progress) {
  VerbalizeStats st;
  const uint64_t n = g.num_concepts();
  for (ConceptId c = 0; c < n; ++c) {
    if (on_progress && c % 16384 == 0) on_progress(c, n);
    data::corpus::Document doc;
    for (const AdjEdge& e : g.out_edges(c)) {
      const std::string& rel = g.relation_name(e.relation);
      std::optional<std::string> s = VerbalizeTriple(g.concept_name(c), rel, g.concept_name(e.other));
      if (!s) {
        ++st.unverbalised;
        ++st.unverbalised_relations[rel];
        continue;
      }
      doc.sentences.push_back(std::move(*s));
    }
    if (doc.sentences.empty()) continue;
    ++st.documents;
    st.sentences += doc.sentences.size();
    sink(std::move(doc));
  }
  if (on_progress) on_progress(n, n);
  return st;
}

void ReadKgCorpusSource(const std::string& dir, data::corpus::ReadContext& ctx, std::string* sha256) {
  std::unique_ptr<KgStore> store = KgStore::Open(dir);
  Sha256 sha;
  sha.Update(MetadataToJson(store->metadata()).dump());
  *sha256 = sha.HexDigest();
  Graph g = store->LoadGraph();
  VerbalizeStats st = VerbalizeGraph(
      g, [&](data::corpus::Document&& doc) { ctx.Emit(std::move(doc)); }, ctx.on_progress);
  ctx.filtered += st.unverbalised;
}

}  // namespace spade::kg
