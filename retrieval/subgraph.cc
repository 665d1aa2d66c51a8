#include "retrieval/subgraph.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "data/error.h"

namespace spade::retrieval {

Subgraph SchemaSubgraph(const kg::Graph& graph, const std::vector<kg::ConceptId>& question,
                        const std::vector<kg::ConceptId>& answer,
                        const SubgraphOptions& options) {
  for (const auto* ids : {&question, &answer}) {
    for (kg::ConceptId c : *ids) {
      if (c >= graph.num_concepts()) {
        throw InvalidArgument("schema subgraph: concept id " + std::to_string(c) +
                              " out of range (" + std::to_string(graph.num_concepts()) + ")");
      }
    }
  }
  Subgraph sg;
  std::unordered_map<kg::ConceptId, uint32_t> index;
  auto add = [&](kg::ConceptId c, NodeRole role) {
    if (index.contains(c)) return;
    index.emplace(c, static_cast<uint32_t>(sg.nodes.size()));
    sg.nodes.push_back(c);
    sg.roles.push_back(role);
  };
  // Question concepts that are not also answer concepts, in order, without repeats.
  std::vector<kg::ConceptId> q_only;
  for (kg::ConceptId c : question) {
    if (std::find(answer.begin(), answer.end(), c) == answer.end() &&
        std::find(q_only.begin(), q_only.end(), c) == q_only.end()) {
      q_only.push_back(c);
    }
  }
  for (kg::ConceptId c : q_only) add(c, NodeRole::kQuestion);
  for (kg::ConceptId c : answer) add(c, NodeRole::kAnswer);

  // Neighbours of each side; an intermediate touches both sides. Links counted for ranking.
  auto neighbours = [&](const std::vector<kg::ConceptId>& side) {
    std::unordered_map<kg::ConceptId, uint32_t> seen;
    for (kg::ConceptId c : side) {
      for (const kg::AdjEdge& e : graph.out_edges(c)) ++seen[e.other];
      for (const kg::AdjEdge& e : graph.in_edges(c)) ++seen[e.other];
    }
    return seen;
  };
  const auto from_q = neighbours(q_only);
  const auto from_a = neighbours(answer);
  std::vector<std::pair<uint32_t, kg::ConceptId>> middle;  // (links, concept)
  for (const auto& [c, links_q] : from_q) {
    if (index.contains(c)) continue;
    auto it = from_a.find(c);
    if (it != from_a.end()) middle.emplace_back(links_q + it->second, c);
  }
  std::sort(middle.begin(), middle.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  for (const auto& [links, c] : middle) {
    if (sg.nodes.size() >= options.max_nodes) {
      ++sg.intermediates_dropped;
      continue;
    }
    add(c, NodeRole::kIntermediate);
  }
  for (uint32_t i = 0; i < sg.nodes.size(); ++i) {
    for (const kg::AdjEdge& e : graph.out_edges(sg.nodes[i])) {
      auto it = index.find(e.other);
      if (it != index.end()) sg.edges.push_back({i, it->second, e.relation});
    }
  }
  std::sort(sg.edges.begin(), sg.edges.end(), [&](const SubgraphEdge& x, const SubgraphEdge& y) {
    if (x.head != y.head) return x.head < y.head;
    if (x.relation != y.relation) return x.relation < y.relation;
    return x.tail < y.tail;
  });
  return sg;
}

}  // namespace spade::retrieval
