// The schema subgraph of a (question, choice) pair as QA-GNN / MHGRN build it: the question
// and answer concepts, plus every concept on a <=2-hop connection between them (a common
// neighbour of a question concept and an answer concept), with all KG edges among those
// concepts. This is the input the fusion model consumes.
//
// Thread-safety: pure function of its arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kg/graph.h"

namespace spade::retrieval {

enum class NodeRole : uint8_t { kQuestion = 0, kAnswer = 1, kIntermediate = 2 };

struct SubgraphEdge {
  uint32_t head = 0;  // index into Subgraph::nodes
  uint32_t tail = 0;  // index into Subgraph::nodes
  kg::RelationId relation = 0;
};

struct Subgraph {
  std::vector<kg::ConceptId> nodes;  // question concepts, answer concepts, then intermediates
  std::vector<NodeRole> roles;       // parallel to nodes
  std::vector<SubgraphEdge> edges;   // every KG edge among nodes, (head, relation, tail) order
  size_t intermediates_dropped = 0;  // beyond max_nodes
};

struct SubgraphOptions {
  size_t max_nodes = 200;  // QA-GNN's cap; intermediates with the most links to Q and A kept
};

// A concept both in `question` and `answer` counts as an answer concept. Ids must be
// < graph.num_concepts() (spade::Error kInvalidArgument otherwise).
Subgraph SchemaSubgraph(const kg::Graph& graph, const std::vector<kg::ConceptId>& question,
                        const std::vector<kg::ConceptId>& answer,
                        const SubgraphOptions& options = {});

}  // namespace spade::retrieval
