#include "kg/relations.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data/error.h"

namespace spade::kg {
namespace {

// ConceptNet 5.7's relations plus the older names used by ConceptNet 4 and ConceptNet-100k.
constexpr std::string_view kKnown[] = {
    "RelatedTo", "FormOf", "IsA", "PartOf", "HasA", "UsedFor", "CapableOf", "AtLocation",
    "Causes", "HasSubevent", "HasFirstSubevent", "HasLastSubevent", "HasPrerequisite",
    "HasProperty", "MotivatedByGoal", "ObstructedBy", "Desires", "CreatedBy", "Synonym",
    "Antonym", "DistinctFrom", "DerivedFrom", "SymbolOf", "DefinedAs", "MannerOf",
    "LocatedNear", "HasContext", "SimilarTo", "EtymologicallyRelatedTo",
    "EtymologicallyDerivedFrom", "CausesDesire", "MadeOf", "ReceivesAction", "ExternalURL",
    "InstanceOf", "Entails", "NotDesires", "NotUsedFor", "NotCapableOf", "NotHasProperty",
    "NotIsA", "NotHasA", "NotMadeOf", "DesireOf", "LocationOfAction", "InheritsFrom",
    "HasPainIntensity", "HasPainCharacter", "SimilarSize", "ConceptuallyRelatedTo",
    "NotCauses", "CapableOfReceivingAction", "NotPartOf"};

std::string Fold(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == ' ') continue;
    out.push_back(static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c));
  }
  return out;
}

const std::string_view* FindKnown(std::string_view name) {
  for (const std::string_view& k : kKnown) {
    if (k == name) return &k;  // already canonical: the common case, no allocation
  }
  std::string folded = Fold(name);
  for (const std::string_view& k : kKnown) {
    if (Fold(k) == folded) return &k;
  }
  return nullptr;
}

std::string_view StripPrefix(std::string_view name) {
  if (name.starts_with("/r/")) name.remove_prefix(3);
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return name;
}

}  // namespace

std::optional<std::string> CanonicalRelation(std::string_view name) {
  name = StripPrefix(name);
  if (name.empty()) return std::nullopt;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '/';
    if (!ok) return std::nullopt;
  }
  if (const std::string_view* known = FindKnown(name)) {
    if (*known == "ConceptuallyRelatedTo") return std::string("RelatedTo");
    return std::string(*known);
  }
  return std::string(name);
}

bool IsKnownRelation(std::string_view name) {
  name = StripPrefix(name);
  return !name.empty() && FindKnown(name) != nullptr;
}

RelationMerge RelationMerge::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw NotFound(path + ": cannot open relation merge file");
  std::stringstream ss;
  ss << in.rdbuf();
  return FromText(ss.str(), path);
}

RelationMerge RelationMerge::FromText(std::string_view text, const std::string& name) {
  RelationMerge m;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::string where = name + ":" + std::to_string(line_no);
    std::string target;
    size_t start = 0;
    while (start <= line.size()) {
      size_t slash = line.find('/', start);
      std::string_view part = line.substr(start, slash == std::string_view::npos ? line.npos : slash - start);
      bool reverse = !part.empty() && part.front() == '*';
      if (reverse) part.remove_prefix(1);
      std::optional<std::string> rel = CanonicalRelation(part);
      if (!rel) throw ParseError(where, "bad relation name '" + std::string(part) + "'");
      if (target.empty()) {
        if (reverse) throw ParseError(where, "the first relation of a group cannot be reversed");
        target = *rel;
        m.merged_.push_back(target);
      }
      m.table_.push_back({*rel, Target{target, reverse}});
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
  if (m.merged_.empty()) throw ParseError(name + ":1", "no relations in merge file");
  return m;
}

std::optional<RelationMerge::Target> RelationMerge::Map(std::string_view canonical_relation) const {
  for (const auto& [from, to] : table_) {
    if (from == canonical_relation) return to;
  }
  return std::nullopt;
}

std::vector<std::string> RelationMerge::merged_relations() const { return merged_; }

}  // namespace spade::kg
