// The in-memory knowledge graph: compressed sparse rows over outgoing and incoming
// edges, loaded whole from a KgStore (or built from triples in tests).
//
// Shape letters: N concepts, M edges.
// Thread-safety: a Graph is immutable after construction; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spade::kg {

using ConceptId = uint32_t;
using RelationId = uint16_t;

// One stored, positive, de-duplicated assertion `head -relation-> tail`.
struct Triple {
  ConceptId head = 0;
  RelationId relation = 0;
  ConceptId tail = 0;
  float weight = 1.0f;
};

// An adjacency entry seen from one endpoint. For out_edges(c) `other` is the tail;
// for in_edges(c) `other` is the head of an edge `other -relation-> c`.
struct AdjEdge {
  ConceptId other = 0;
  RelationId relation = 0;
  float weight = 1.0f;
};

class Graph {
 public:
  Graph() = default;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;
  Graph(const Graph&) = delete;  // by_name_ holds views into concepts_
  Graph& operator=(const Graph&) = delete;

  // Builds the CSR from triples. `concepts[i]` is the name of ConceptId i and
  // `relations[r]` the name of RelationId r; every id in `triples` must be in range
  // (throws spade::Error kInvalidArgument otherwise). Triples need not be sorted;
  // each adjacency list comes out ordered by (relation, other).
  static Graph FromTriples(std::vector<std::string> concepts, std::vector<std::string> relations,
                           std::vector<Triple> triples);

  size_t num_concepts() const { return concepts_.size(); }
  size_t num_edges() const { return out_.size(); }
  size_t num_relations() const { return relations_.size(); }

  // Edges leaving / entering `c`, ordered by (relation, other). `c` must be < num_concepts().
  std::span<const AdjEdge> out_edges(ConceptId c) const {
    return {out_.data() + out_offsets_[c], out_.data() + out_offsets_[c + 1]};
  }
  std::span<const AdjEdge> in_edges(ConceptId c) const {
    return {in_.data() + in_offsets_[c], in_.data() + in_offsets_[c + 1]};
  }
  size_t degree(ConceptId c) const { return out_edges(c).size() + in_edges(c).size(); }

  const std::string& concept_name(ConceptId c) const { return concepts_[c]; }
  const std::string& relation_name(RelationId r) const { return relations_[r]; }
  const std::vector<std::string>& concept_names() const { return concepts_; }
  const std::vector<std::string>& relation_names() const { return relations_; }

  // Looks up an already-normalised concept name (see kg/normalize.h); nullopt if absent.
  std::optional<ConceptId> find(std::string_view name) const;
  std::optional<RelationId> find_relation(std::string_view name) const;

  // All triples in (head, relation, tail) order.
  std::vector<Triple> triples() const;

 private:
  std::vector<std::string> concepts_;
  std::vector<std::string> relations_;
  std::unordered_map<std::string_view, ConceptId> by_name_;  // views into concepts_
  std::vector<uint64_t> out_offsets_, in_offsets_;           // (N + 1)
  std::vector<AdjEdge> out_, in_;                            // (M)
};

}  // namespace spade::kg
