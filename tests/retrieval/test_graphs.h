// Small graphs for retrieval tests: a hand-made one whose paths can be checked by eye, and
// ConceptNet-100k (the shipped train100k.txt) built straight into a kg::Graph.
#pragma once

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kg/graph.h"
#include "kg/normalize.h"

namespace spade::retrieval::testing {

// `triples` as (head, relation, tail) names; concepts and relations get ids in order of
// first appearance.
inline kg::Graph MakeGraph(const std::vector<std::tuple<std::string, std::string, std::string>>& triples) {
  std::vector<std::string> concepts, relations;
  std::map<std::string, kg::ConceptId> cid;
  std::map<std::string, kg::RelationId> rid;
  auto concept_id = [&](const std::string& n) {
    auto [it, fresh] = cid.emplace(n, static_cast<kg::ConceptId>(concepts.size()));
    if (fresh) concepts.push_back(n);
    return it->second;
  };
  std::vector<kg::Triple> out;
  for (const auto& [h, r, t] : triples) {
    auto [it, fresh] = rid.emplace(r, static_cast<kg::RelationId>(relations.size()));
    if (fresh) relations.push_back(r);
    const kg::ConceptId hi = concept_id(h);
    out.push_back({hi, it->second, concept_id(t), 1.0f});
  }
  return kg::Graph::FromTriples(std::move(concepts), std::move(relations), std::move(out));
}

// The "dig" world of the README's example question.
inline kg::Graph DigGraph() {
  return MakeGraph({
      {"shovel", "UsedFor", "dig"},
      {"dig", "HasSubevent", "plant_flower"},
      {"plant_flower", "HasPrerequisite", "dig"},
      {"flower", "AtLocation", "garden"},
      {"shovel", "AtLocation", "garden"},
      {"shovel", "IsA", "tool"},
      {"excavator", "UsedFor", "dig"},
      {"excavator", "UsedFor", "build_house"},
      {"house", "AtLocation", "ground"},
      {"plant", "AtLocation", "ground"},
      {"plant", "RelatedTo", "flower"},
      {"flower", "IsA", "plant"},
      {"ice_cream", "IsA", "dessert"},
      {"ice", "RelatedTo", "cold"},
      {"cream", "RelatedTo", "milk"},
      {"revolving_door", "AtLocation", "bank"},
      {"door", "PartOf", "house"},
      {"person", "CapableOf", "dig"},
      {"spoon", "UsedFor", "eat"},
      {"goose", "IsA", "bird"},
      {"child", "IsA", "person"},
  });
}

// ConceptNet-100k training triples with names normalised; nullopt-free: throws if missing.
inline kg::Graph ConceptNet100k() {
  std::ifstream in(std::string(SPADE_SOURCE_DIR) + "/../shared/data/kg/conceptnet100k/train100k.txt");
  std::ifstream in2("/work/shared/data/kg/conceptnet100k/train100k.txt");
  std::istream& src = in ? in : in2;
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::string line;
  while (std::getline(src, line)) {
    size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string h = kg::NormalizeConcept(line.substr(a + 1, b - a - 1));
    std::string t = kg::NormalizeConcept(line.substr(b + 1, c == std::string::npos ? std::string::npos : c - b - 1));
    if (h.empty() || t.empty() || h == t) continue;
    auto key = std::make_tuple(h, line.substr(0, a), t);
    if (seen.insert(key).second) rows.push_back(key);
  }
  return MakeGraph(rows);
}

}  // namespace spade::retrieval::testing
