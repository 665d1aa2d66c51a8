#include "retrieval/paths.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/filtered_graph.hpp>
#include <boost/property_map/property_map.hpp>
#include <boost/range/iterator_range.hpp>

#include "data/error.h"

namespace spade::retrieval {
namespace {

using kg::ConceptId;
using kg::RelationId;

// One edge of the undirected skeleton u -> v: the best KG edge between u and v seen from u.
struct SkeletonEdge {
  float score = 0;         // edge score (embedding score or relation weight)
  RelationId relation = 0;
  bool forward = true;     // u -relation-> v in the KG
};

using Csr = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, SkeletonEdge,
                                               boost::no_property, uint32_t, uint64_t>;

constexpr int8_t kFar = std::numeric_limits<int8_t>::max();

double EdgeScoreOf(const kg::Graph& graph, const kg::TransE* emb,
                   const std::vector<double>& relation_weight, ConceptId h, RelationId r,
                   ConceptId t) {
  (void)graph;
  return emb ? emb->EdgeScore(h, r, t) : relation_weight[r];
}

std::vector<double> RelationWeights(const kg::Graph& graph) {
  std::vector<double> w(graph.num_relations());
  for (size_t r = 0; r < w.size(); ++r) w[r] = RelationWeight(graph.relation_name(r));
  return w;
}

// Better edge between the same two concepts u and v, seen from u: higher score, then
// smaller relation id, then the edge whose head is the smaller concept id (so u's and v's
// views pick the same edge and a reversed path is the same path).
bool BetterEdge(double score_a, RelationId rel_a, bool fwd_a, double score_b, RelationId rel_b,
                bool fwd_b, bool u_is_smaller) {
  if (score_a != score_b) return score_a > score_b;
  if (rel_a != rel_b) return rel_a < rel_b;
  return fwd_a != fwd_b && fwd_a == u_is_smaller;
}

double DegreeFactor(const kg::Graph& graph, ConceptId c) {
  return 1.0 / std::log2(2.0 + static_cast<double>(graph.degree(c)));
}

void RankAndCap(PairPaths* pp, const PathOptions& options) {
  std::sort(pp->paths.begin(), pp->paths.end(), [](const Path& a, const Path& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.hops() != b.hops()) return a.hops() < b.hops();
    if (a.concepts != b.concepts) return a.concepts < b.concepts;
    for (size_t i = 0; i < a.edges.size(); ++i) {
      if (a.edges[i].relation != b.edges[i].relation) return a.edges[i].relation < b.edges[i].relation;
      if (a.edges[i].forward != b.edges[i].forward) return a.edges[i].forward;
    }
    return false;
  });
  if (pp->paths.size() > options.max_paths_per_pair) pp->paths.resize(options.max_paths_per_pair);
}

void CheckIds(const kg::Graph& graph, ConceptId a, ConceptId b) {
  if (a >= graph.num_concepts() || b >= graph.num_concepts()) {
    throw InvalidArgument("path search: concept id " + std::to_string(std::max(a, b)) +
                          " out of range (" + std::to_string(graph.num_concepts()) + " concepts)");
  }
}

// Per-thread scratch; invariant between calls: dist all kFar, color all white, on_path 0.
struct Scratch {
  std::vector<int8_t> dist;
  std::vector<boost::default_color_type> color;
  std::vector<uint8_t> on_path;
  std::vector<uint32_t> touched;
  void Ensure(size_t n) {
    if (dist.size() < n) {
      dist.resize(n, kFar);
      color.resize(n, boost::white_color);
      on_path.resize(n, 0);
    }
  }
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Follows only edges leaving vertices nearer than `limit` hops: a depth-bounded BFS.
struct WithinLimit {
  const std::vector<int8_t>* dist = nullptr;
  const Csr* g = nullptr;
  int limit = 0;
  bool operator()(boost::graph_traits<Csr>::edge_descriptor e) const {
    return (*dist)[boost::source(e, *g)] < limit;
  }
};

struct DistanceRecorder : boost::default_bfs_visitor {
  std::vector<int8_t>* dist;
  std::vector<uint32_t>* touched;
  template <typename G>
  void discover_vertex(uint32_t v, const G&) const {
    touched->push_back(v);
  }
  template <typename E, typename G>
  void tree_edge(E e, const G& g) const {
    (*dist)[boost::target(e, g)] = static_cast<int8_t>((*dist)[boost::source(e, g)] + 1);
  }
};

// A found path before ranking, fixed-size so that enumeration does not allocate.
struct Candidate {
  double score = 0;
  uint8_t hops = 0;
  std::array<ConceptId, 7> concepts{};  // hops + 1 used (max_hops <= 6)
  std::array<PathEdge, 6> edges{};      // hops used
};

// RankAndCap's order: score, then fewer hops, then concepts, then edges.
bool CandidateBefore(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.hops != b.hops) return a.hops < b.hops;
  for (int i = 0; i <= a.hops; ++i) {
    if (a.concepts[i] != b.concepts[i]) return a.concepts[i] < b.concepts[i];
  }
  for (int i = 0; i < a.hops; ++i) {
    if (a.edges[i].relation != b.edges[i].relation) return a.edges[i].relation < b.edges[i].relation;
    if (a.edges[i].forward != b.edges[i].forward) return a.edges[i].forward;
  }
  return false;
}

}  // namespace

double RelationWeight(std::string_view name) {
  // Relations that say little about how two concepts relate weigh half.
  static constexpr std::string_view kWeak[] = {"RelatedTo", "Synonym", "Antonym", "DerivedFrom",
                                               "EtymologicallyRelatedTo", "SimilarTo", "FormOf",
                                               "HasContext", "relatedto", "synonym", "antonym",
                                               "derivedfrom", "similarto", "formof"};
  for (std::string_view w : kWeak) {
    if (name == w) return 0.5;
  }
  return 1.0;
}

std::string FormatPath(const kg::Graph& graph, const Path& path) {
  std::string out;
  for (size_t i = 0; i < path.concepts.size(); ++i) {
    if (i > 0) {
      const PathEdge& e = path.edges[i - 1];
      const std::string& rel = graph.relation_name(e.relation);
      out += e.forward ? " -" + rel + "-> " : " <-" + rel + "- ";
    }
    out += graph.concept_name(path.concepts[i]);
  }
  return out;
}

struct PathFinder::Impl {
  Csr csr;
  std::vector<double> relation_weight;
  std::vector<uint64_t> two_hop_cost;  // (N) sum of the skeleton degrees of c's neighbours
};

PathFinder::PathFinder(const kg::Graph& graph, const kg::TransE* embeddings)
    : graph_(graph), embeddings_(embeddings), impl_(std::make_unique<Impl>()) {
  if (embeddings && (embeddings->num_concepts() != graph.num_concepts() ||
                     embeddings->num_relations() != graph.num_relations())) {
    throw InvalidArgument("PathFinder: embeddings for " + std::to_string(embeddings->num_concepts()) +
                          " concepts / " + std::to_string(embeddings->num_relations()) +
                          " relations do not match the graph's " +
                          std::to_string(graph.num_concepts()) + " / " +
                          std::to_string(graph.num_relations()));
  }
  impl_->relation_weight = RelationWeights(graph);
  const size_t n = graph.num_concepts();
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  std::vector<SkeletonEdge> props;
  pairs.reserve(graph.num_edges() * 2);
  props.reserve(graph.num_edges() * 2);
  struct Candidate {
    ConceptId other;
    SkeletonEdge edge;
  };
  std::vector<Candidate> cand;
  for (ConceptId u = 0; u < n; ++u) {
    cand.clear();
    for (const kg::AdjEdge& e : graph.out_edges(u)) {
      if (e.other == u) continue;
      double s = EdgeScoreOf(graph, embeddings, impl_->relation_weight, u, e.relation, e.other);
      cand.push_back({e.other, {static_cast<float>(s), e.relation, true}});
    }
    for (const kg::AdjEdge& e : graph.in_edges(u)) {
      if (e.other == u) continue;
      double s = EdgeScoreOf(graph, embeddings, impl_->relation_weight, e.other, e.relation, u);
      cand.push_back({e.other, {static_cast<float>(s), e.relation, false}});
    }
    std::sort(cand.begin(), cand.end(), [u](const Candidate& a, const Candidate& b) {
      if (a.other != b.other) return a.other < b.other;
      return BetterEdge(a.edge.score, a.edge.relation, a.edge.forward, b.edge.score,
                        b.edge.relation, b.edge.forward, u < a.other);
    });
    for (size_t i = 0; i < cand.size(); ++i) {
      if (i > 0 && cand[i].other == cand[i - 1].other) continue;  // keep the best of each
      pairs.emplace_back(u, cand[i].other);
      props.push_back(cand[i].edge);
    }
  }
  impl_->csr = Csr(boost::edges_are_sorted, pairs.begin(), pairs.end(), props.begin(),
                   static_cast<uint32_t>(n));
  impl_->two_hop_cost.assign(n, 0);
  for (const auto& [u, v] : pairs) impl_->two_hop_cost[u] += boost::out_degree(v, impl_->csr);
}

PathFinder::~PathFinder() = default;
PathFinder::PathFinder(PathFinder&&) noexcept = default;

std::string PathFinder::Format(const Path& path) const { return FormatPath(graph_, path); }

PairPaths PathFinder::Find(ConceptId from, ConceptId to, const PathOptions& options) const {
  std::vector<PairPaths> all = FindAll({from}, {to}, options);
  return std::move(all.front());
}

std::vector<PairPaths> PathFinder::FindAll(const std::vector<ConceptId>& from,
                                           const std::vector<ConceptId>& to,
                                           const PathOptions& options) const {
  if (options.max_hops < 1 || options.max_hops > 6) {
    throw InvalidArgument("max hops must be between 1 and 6, got " +
                          std::to_string(options.max_hops));
  }
  const Csr& g = impl_->csr;
  Scratch& s = ThreadScratch();
  s.Ensure(graph_.num_concepts());
  const int max_hops = options.max_hops;
  const bool prune = embeddings_ != nullptr;
  const std::vector<bool>* no_transit = options.no_transit;
  if (no_transit && no_transit->size() != graph_.num_concepts()) {
    throw InvalidArgument("path search: no_transit mask has " + std::to_string(no_transit->size()) +
                          " entries for " + std::to_string(graph_.num_concepts()) + " concepts");
  }
  std::vector<PairPaths> result;
  result.reserve(from.size() * to.size());
  std::vector<Candidate> candidates;

  for (ConceptId q : from) {
    for (ConceptId a : to) {
      CheckIds(graph_, q, a);
      PairPaths pp;
      pp.from = q;
      pp.to = a;
      if (q == a) {
        result.push_back(std::move(pp));
        continue;
      }
      // Search from the end whose neighbours have fewer neighbours (hubs make the other
      // end expensive); paths found from `a` are reversed, so the result is the same.
      const bool reversed = impl_->two_hop_cost[a] < impl_->two_hop_cost[q];
      const ConceptId start = reversed ? a : q, target = reversed ? q : a;
      // Hops to `target` for every vertex within max_hops - 2 of it (the skeleton is
      // symmetric): a depth-bounded BFS on the filtered Boost.Graph.
      const int ball = std::max(0, max_hops - 2);
      s.dist[target] = 0;
      if (ball > 0) {
        boost::queue<uint32_t> queue;
        WithinLimit pred{&s.dist, &g, ball};
        boost::filtered_graph<Csr, WithinLimit> fg(g, pred);
        DistanceRecorder vis;
        vis.dist = &s.dist;
        vis.touched = &s.touched;
        boost::breadth_first_visit(
            fg, target, queue, vis,
            boost::make_iterator_property_map(s.color.begin(), boost::get(boost::vertex_index, g)));
      }
      std::vector<ConceptId> stack{start};
      std::vector<PathEdge> edges;
      std::vector<float> edge_scores;
      candidates.clear();
      s.on_path[start] = 1;
      // A path reaching `target`: put in question -> answer order, scored as the reference
      // does (same multiplication order), kept as a fixed-size candidate (no allocation).
      auto emit = [&](const SkeletonEdge& last) {
        ++pp.found;
        const size_t hops = stack.size();
        Candidate c;
        c.hops = static_cast<uint8_t>(hops);
        std::array<float, 6> sc{};
        for (size_t i = 0; i < hops; ++i) {
          const bool is_last = i + 1 == hops;
          const PathEdge e = is_last ? PathEdge{last.relation, last.forward} : edges[i];
          const float score = is_last ? last.score : edge_scores[i];
          if (!reversed) {
            c.concepts[i] = stack[i];
            c.edges[i] = e;
            sc[i] = score;
          } else {
            c.concepts[hops - i] = stack[i];
            c.edges[hops - 1 - i] = {e.relation, !e.forward};
            sc[hops - 1 - i] = score;
          }
        }
        c.concepts[reversed ? 0 : hops] = target;
        double score = 1.0;
        for (size_t i = 0; i < hops; ++i) score *= sc[i];
        if (!prune) {
          for (size_t i = 1; i < hops; ++i) score *= DegreeFactor(graph_, c.concepts[i]);
        } else if (score < options.min_score) {
          return;
        }
        c.score = score;
        candidates.push_back(c);
      };
      // Depth-first over the skeleton; a vertex is entered only if `target` may still be
      // reached within the hops left. With one hop left only the edge to `target` matters:
      // it is found by binary search in the sorted row instead of scanning a hub's row.
      auto dfs = [&](auto&& self, uint32_t u, int depth) -> void {
        const int remaining = max_hops - depth;
        if (remaining == 1) {
          auto [first, last] = boost::out_edges(u, g);
          auto it = std::lower_bound(first, last, target, [&](const auto& e, uint32_t t) {
            return boost::target(e, g) < t;
          });
          if (it == last || boost::target(*it, g) != target) return;
          if (pp.found >= options.enumeration_limit) {
            pp.truncated = true;
            return;
          }
          emit(g[*it]);
          return;
        }
        for (auto e : boost::make_iterator_range(boost::out_edges(u, g))) {
          if (pp.found >= options.enumeration_limit) {
            pp.truncated = true;
            return;
          }
          const uint32_t v = boost::target(e, g);
          // Vertices farther than `ball` are unmarked: they can only be ruled out once the
          // hops left fall within the ball. Checked first: it rejects most edges of a hub
          // with one memory access (dist[target] is 0, so `target` always passes).
          if (remaining - 1 <= ball && s.dist[v] > remaining - 1) continue;
          if (s.on_path[v]) continue;
          const SkeletonEdge& info = g[e];
          if (v == target) {
            emit(info);
            continue;
          }
          if (no_transit && (*no_transit)[v]) continue;
          s.on_path[v] = 1;
          stack.push_back(v);
          edges.push_back({info.relation, info.forward});
          edge_scores.push_back(info.score);
          self(self, v, depth + 1);
          edge_scores.pop_back();
          edges.pop_back();
          stack.pop_back();
          s.on_path[v] = 0;
        }
      };
      dfs(dfs, start, 0);
      s.on_path[start] = 0;
      for (uint32_t v : s.touched) {
        s.dist[v] = kFar;
        s.color[v] = boost::white_color;
      }
      s.dist[target] = kFar;
      s.color[target] = boost::white_color;
      s.touched.clear();

      const size_t keep = std::min(candidates.size(), options.max_paths_per_pair);
      std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), CandidateBefore);
      pp.paths.reserve(keep);
      for (size_t i = 0; i < keep; ++i) {
        const Candidate& c = candidates[i];
        Path path;
        path.concepts.assign(c.concepts.begin(), c.concepts.begin() + c.hops + 1);
        path.edges.assign(c.edges.begin(), c.edges.begin() + c.hops);
        path.score = c.score;
        pp.paths.push_back(std::move(path));
      }
      result.push_back(std::move(pp));
    }
  }
  return result;
}

PairPaths EnumeratePathsBfs(const kg::Graph& graph, const kg::TransE* embeddings, ConceptId from,
                            ConceptId to, const PathOptions& options) {
  CheckIds(graph, from, to);
  const std::vector<double> relation_weight = RelationWeights(graph);
  PairPaths pp;
  pp.from = from;
  pp.to = to;
  if (from == to) return pp;
  auto neighbours = [&](ConceptId u) {
    std::vector<ConceptId> out;
    for (const kg::AdjEdge& e : graph.out_edges(u)) out.push_back(e.other);
    for (const kg::AdjEdge& e : graph.in_edges(u)) out.push_back(e.other);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  std::deque<std::vector<ConceptId>> queue;
  queue.push_back({from});
  while (!queue.empty()) {
    std::vector<ConceptId> partial = std::move(queue.front());
    queue.pop_front();
    for (ConceptId v : neighbours(partial.back())) {
      if (v == partial.back() || std::find(partial.begin(), partial.end(), v) != partial.end()) {
        continue;
      }
      std::vector<ConceptId> next = partial;
      next.push_back(v);
      if (v == to) {
        ++pp.found;
        Path path;
        path.concepts = std::move(next);
        double score = 1.0;
        for (size_t i = 0; i + 1 < path.concepts.size(); ++i) {
          const ConceptId x = path.concepts[i], y = path.concepts[i + 1];
          bool have = false;
          double best = 0;
          PathEdge best_edge;
          auto consider = [&](double sc, RelationId r, bool fwd) {
            if (!have || BetterEdge(static_cast<float>(sc), r, fwd, static_cast<float>(best),
                                    best_edge.relation, best_edge.forward, x < y)) {
              have = true;
              best = sc;
              best_edge = {r, fwd};
            }
          };
          for (const kg::AdjEdge& e : graph.out_edges(x)) {
            if (e.other == y) consider(EdgeScoreOf(graph, embeddings, relation_weight, x, e.relation, y), e.relation, true);
          }
          for (const kg::AdjEdge& e : graph.in_edges(x)) {
            if (e.other == y) consider(EdgeScoreOf(graph, embeddings, relation_weight, y, e.relation, x), e.relation, false);
          }
          path.edges.push_back(best_edge);
          score *= static_cast<float>(best);
        }
        if (embeddings) {
          if (score < options.min_score) continue;
        } else {
          for (size_t i = 1; i + 1 < path.concepts.size(); ++i) {
            score *= DegreeFactor(graph, path.concepts[i]);
          }
        }
        path.score = score;
        pp.paths.push_back(std::move(path));
      } else if (static_cast<int>(next.size()) - 1 < options.max_hops &&
                 !(options.no_transit && (*options.no_transit)[v])) {
        queue.push_back(std::move(next));
      }
    }
  }
  RankAndCap(&pp, options);
  return pp;
}

}  // namespace spade::retrieval
