// Paths between question and answer concepts, found on the Graph exposed to Boost.Graph
// (a compressed_sparse_row_graph over the graph's undirected skeleton, kept private), with
// the relation and direction of every edge kept. Ranked by a documented score:
//
//  * with TransE embeddings (KagNet, Lin et al. 2019): the product over the path's edges of
//    (1 + cos(r, t - h)) / 2, h and t in the relation's own direction; paths scoring below
//    PathOptions::min_score (0.15) are pruned;
//  * without: the product over edges of kRelationWeight (1 for specific relations, 0.5 for
//    RelatedTo/Synonym/DerivedFrom-like ones), times, for every inner concept v,
//    1 / log2(2 + degree(v)) so that paths through hubs rank low. Nothing is pruned.
//
// A path is a sequence of distinct concepts (a simple path, as networkx's all_simple_paths
// gives); when two consecutive concepts are joined by several edges the path keeps the
// best-scoring one (ties: smallest relation id, then the edge whose head has the smaller
// concept id, so the choice does not depend on the direction of travel). EnumeratePathsBfs
// is the plain reference the Boost.Graph search is tested against.
//
// Thread-safety: a PathFinder is immutable after construction; concurrent calls are safe.
// It references the Graph and the TransE model, which must outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kg/graph.h"
#include "kg/transe.h"

namespace spade::retrieval {

struct PathEdge {
  kg::RelationId relation = 0;
  bool forward = true;  // true: concepts[i] -relation-> concepts[i+1]; false: the reverse
};

struct Path {
  std::vector<kg::ConceptId> concepts;  // hops + 1, distinct
  std::vector<PathEdge> edges;          // hops
  double score = 0;
  size_t hops() const { return edges.size(); }
};

struct PathOptions {
  int max_hops = 3;                  // KagNet used up to 4
  size_t max_paths_per_pair = 100;   // kept per (question, answer) concept pair, best first
  double min_score = 0.15;           // KagNet pruning; applies only with embeddings
  size_t enumeration_limit = 20000;  // simple paths looked at per pair before stopping
  // Concepts never used as a path's inner node (indexed by ConceptId, e.g.
  // OverGeneralMask(graph): "something", "person" link everything and explain nothing).
  // Null = none. Not owned; must outlive the call.
  const std::vector<bool>* no_transit = nullptr;
};

// Paths between one question concept and one answer concept.
struct PairPaths {
  kg::ConceptId from = 0;
  kg::ConceptId to = 0;
  std::vector<Path> paths;  // best first, at most max_paths_per_pair
  size_t found = 0;         // simple paths enumerated (before pruning and the cap)
  bool truncated = false;   // enumeration_limit reached
};

// Relation weight used when no embeddings exist (see the header comment).
double RelationWeight(std::string_view relation_name);

class PathFinder {
 public:
  // Builds the Boost.Graph view: O(N + M) time and memory. `embeddings` may be null.
  explicit PathFinder(const kg::Graph& graph, const kg::TransE* embeddings = nullptr);
  ~PathFinder();
  PathFinder(PathFinder&&) noexcept;

  // Every simple path of 1..max_hops edges from `from` to `to`, scored, pruned, ranked,
  // capped. `from == to` gives no paths. Ids must be < num_concepts (kInvalidArgument).
  PairPaths Find(kg::ConceptId from, kg::ConceptId to, const PathOptions& options) const;

  // All (question, answer) pairs; the distance map from each answer concept is computed once.
  std::vector<PairPaths> FindAll(const std::vector<kg::ConceptId>& from,
                                 const std::vector<kg::ConceptId>& to,
                                 const PathOptions& options) const;

  bool has_embeddings() const { return embeddings_ != nullptr; }
  const kg::Graph& graph() const { return graph_; }

  // "dig <-UsedFor- shovel", "flower -AtLocation-> garden".
  std::string Format(const Path& path) const;

 private:
  struct Impl;
  const kg::Graph& graph_;
  const kg::TransE* embeddings_;
  std::unique_ptr<Impl> impl_;
};

// The reference: breadth-first enumeration of every simple path (queue of partial paths, no
// pruning by distance), edges and scores computed straight from the Graph's adjacency.
// Same result set as PathFinder::Find with enumeration_limit and the cap out of the way;
// ranked the same way.
PairPaths EnumeratePathsBfs(const kg::Graph& graph, const kg::TransE* embeddings,
                            kg::ConceptId from, kg::ConceptId to, const PathOptions& options);

// Renders a path as Format does (shared by both finders' users).
std::string FormatPath(const kg::Graph& graph, const Path& path);

}  // namespace spade::retrieval
