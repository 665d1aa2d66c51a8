#include "kg/graph.h"

#include <algorithm>

#include "data/error.h"

namespace spade::kg {
namespace {

// Counting sort of edges into CSR rows keyed by `key(t)`, each row then sorted by
// (relation, other).
template <typename KeyFn, typename OtherFn>
void BuildCsr(size_t n, const std::vector<Triple>& triples, KeyFn key, OtherFn other,
              std::vector<uint64_t>* offsets, std::vector<AdjEdge>* edges) {
  offsets->assign(n + 1, 0);
  for (const Triple& t : triples) ++(*offsets)[key(t) + 1];
  for (size_t i = 0; i < n; ++i) (*offsets)[i + 1] += (*offsets)[i];
  edges->resize(triples.size());
  std::vector<uint64_t> cursor(offsets->begin(), offsets->end() - 1);
  for (const Triple& t : triples) (*edges)[cursor[key(t)]++] = {other(t), t.relation, t.weight};
  for (size_t i = 0; i < n; ++i) {
    std::sort(edges->begin() + (*offsets)[i], edges->begin() + (*offsets)[i + 1],
              [](const AdjEdge& a, const AdjEdge& b) {
                return a.relation != b.relation ? a.relation < b.relation : a.other < b.other;
              });
  }
}

}  // namespace

Graph Graph::FromTriples(std::vector<std::string> concepts, std::vector<std::string> relations,
                         std::vector<Triple> triples) {
  Graph g;
  g.concepts_ = std::move(concepts);
  g.relations_ = std::move(relations);
  const size_t n = g.concepts_.size();
  for (const Triple& t : triples) {
    if (t.head >= n || t.tail >= n || t.relation >= g.relations_.size()) {
      throw InvalidArgument("Graph::FromTriples: triple (" + std::to_string(t.head) + ", " +
                            std::to_string(t.relation) + ", " + std::to_string(t.tail) +
                            ") out of range: " + std::to_string(n) + " concepts, " +
                            std::to_string(g.relations_.size()) + " relations");
    }
  }
  g.by_name_.reserve(n);
  for (ConceptId i = 0; i < n; ++i) g.by_name_.emplace(g.concepts_[i], i);
  BuildCsr(n, triples, [](const Triple& t) { return t.head; },
           [](const Triple& t) { return t.tail; }, &g.out_offsets_, &g.out_);
  BuildCsr(n, triples, [](const Triple& t) { return t.tail; },
           [](const Triple& t) { return t.head; }, &g.in_offsets_, &g.in_);
  return g;
}

std::optional<ConceptId> Graph::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<RelationId> Graph::find_relation(std::string_view name) const {
  for (size_t r = 0; r < relations_.size(); ++r) {
    if (relations_[r] == name) return static_cast<RelationId>(r);
  }
  return std::nullopt;
}

std::vector<Triple> Graph::triples() const {
  std::vector<Triple> out;
  out.reserve(out_.size());
  for (ConceptId h = 0; h < concepts_.size(); ++h) {
    for (const AdjEdge& e : out_edges(h)) out.push_back({h, e.relation, e.other, e.weight});
  }
  return out;
}

}  // namespace spade::kg
