// The relation schema: ConceptNet's relation names in one spelling, and KagNet's merge
// of them into 17 types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spade::kg {

// Canonical CamelCase name for a relation as any source spells it: "/r/UsedFor",
// "UsedFor", "usedfor", "used_for" -> "UsedFor". ConceptNet 4's ConceptuallyRelatedTo
// becomes RelatedTo (its ConceptNet 5 name). A name outside ConceptNet's vocabulary is
// returned as written after stripping "/r/" (ConceptNet 5 has e.g. "dbpedia/genre").
// Returns nullopt for an empty name or one with characters other than [A-Za-z0-9_/].
std::optional<std::string> CanonicalRelation(std::string_view name);

// True when `name` (any spelling) is one of ConceptNet's core relations; used to tell
// a relation column from a concept column when detecting formats.
bool IsKnownRelation(std::string_view name);

// KagNet's merge (data/kg/kagnet/merge_relation.txt): each line "a/b/*c" puts relations
// a, b and c into the type named after a; '*' means the edge is reversed.
class RelationMerge {
 public:
  struct Target {
    std::string relation;  // merged type, CamelCase ("AtLocation")
    bool reverse = false;  // swap head and tail
  };
  // Parses the file; throws spade::ParseError ("file:line: ...") on a malformed line.
  static RelationMerge FromFile(const std::string& path);
  static RelationMerge FromText(std::string_view text, const std::string& name);
  // nullopt when the relation is not part of the merged schema (KagNet drops it).
  std::optional<Target> Map(std::string_view canonical_relation) const;
  std::vector<std::string> merged_relations() const;  // the 17 types, in file order

 private:
  std::vector<std::pair<std::string, Target>> table_;  // canonical source -> target
  std::vector<std::string> merged_;
};

}  // namespace spade::kg
