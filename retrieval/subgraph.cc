#include "retrieval/subgraph.h"

#include <algorithm>
#include <string>

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
  // Per-thread scratch indexed by concept; every entry is reset after use.
  struct Scratch {
    std::vector<uint32_t> links_q, links_a;  // links to question / answer concepts
    std::vector<int32_t> position;           // index in sg.nodes, -1 if absent
    std::vector<kg::ConceptId> touched_q, touched_a;
  };
  thread_local Scratch s;
  const size_t n = graph.num_concepts();
  if (s.position.size() < n) {
    s.links_q.resize(n, 0);
    s.links_a.resize(n, 0);
    s.position.resize(n, -1);
  }
  Subgraph sg;
  auto add = [&](kg::ConceptId c, NodeRole role) {
    if (s.position[c] >= 0) return;
    s.position[c] = static_cast<int32_t>(sg.nodes.size());
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
  auto count = [&](const std::vector<kg::ConceptId>& side, std::vector<uint32_t>* links,
                   std::vector<kg::ConceptId>* touched) {
    auto bump = [&](kg::ConceptId c) {
      if ((*links)[c]++ == 0) touched->push_back(c);
    };
    for (kg::ConceptId c : side) {
      for (const kg::AdjEdge& e : graph.out_edges(c)) bump(e.other);
      for (const kg::AdjEdge& e : graph.in_edges(c)) bump(e.other);
    }
  };
  count(q_only, &s.links_q, &s.touched_q);
  count(answer, &s.links_a, &s.touched_a);
  std::vector<std::pair<uint32_t, kg::ConceptId>> middle;  // (links, concept)
  const auto& smaller = s.touched_q.size() < s.touched_a.size() ? s.touched_q : s.touched_a;
  for (kg::ConceptId c : smaller) {
    if (s.position[c] >= 0 || s.links_q[c] == 0 || s.links_a[c] == 0) continue;
    middle.emplace_back(s.links_q[c] + s.links_a[c], c);
  }
  for (kg::ConceptId c : s.touched_q) s.links_q[c] = 0;
  for (kg::ConceptId c : s.touched_a) s.links_a[c] = 0;
  s.touched_q.clear();
  s.touched_a.clear();
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
      const int32_t j = s.position[e.other];
      if (j >= 0) sg.edges.push_back({i, static_cast<uint32_t>(j), e.relation});
    }
  }
  for (kg::ConceptId c : sg.nodes) s.position[c] = -1;
  std::sort(sg.edges.begin(), sg.edges.end(), [&](const SubgraphEdge& x, const SubgraphEdge& y) {
    if (x.head != y.head) return x.head < y.head;
    if (x.relation != y.relation) return x.relation < y.relation;
    return x.tail < y.tail;
  });
  return sg;
}

}  // namespace spade::retrieval
