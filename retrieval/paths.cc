#include "retrieval/paths.h"

#include <algorithm>
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

// Better edge between the same two concepts: higher score, then smaller relation id, then
// forward before backward.
bool BetterEdge(double score_a, RelationId rel_a, bool fwd_a, double score_b, RelationId rel_b,
                bool fwd_b) {
  if (score_a != score_b) return score_a > score_b;
  if (rel_a != rel_b) return rel_a < rel_b;
  return fwd_a && !fwd_b;
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
    std::sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) {
      if (a.other != b.other) return a.other < b.other;
      return BetterEdge(a.edge.score, a.edge.relation, a.edge.forward, b.edge.score,
                        b.edge.relation, b.edge.forward);
    });
    for (size_t i = 0; i < cand.size(); ++i) {
      if (i > 0 && cand[i].other == cand[i - 1].other) continue;  // keep the best of each
      pairs.emplace_back(u, cand[i].other);
      props.push_back(cand[i].edge);
    }
  }
  impl_->csr = Csr(boost::edges_are_sorted, pairs.begin(), pairs.end(), props.begin(),
                   static_cast<uint32_t>(n));
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
  std::vector<PairPaths> result;
  result.reserve(from.size() * to.size());

  for (ConceptId a : to) {
    for (ConceptId q : from) CheckIds(graph_, q, a);
    // Hops from every vertex to `a`, up to max_hops - 1 (the skeleton is symmetric).
    s.dist[a] = 0;
    {
      boost::queue<uint32_t> queue;
      WithinLimit pred{&s.dist, &g, max_hops - 1};
      boost::filtered_graph<Csr, WithinLimit> fg(g, pred);
      DistanceRecorder vis;
      vis.dist = &s.dist;
      vis.touched = &s.touched;
      boost::breadth_first_visit(
          fg, a, queue, vis,
          boost::make_iterator_property_map(s.color.begin(), boost::get(boost::vertex_index, g)));
    }
    for (ConceptId q : from) {
      PairPaths pp;
      pp.from = q;
      pp.to = a;
      if (q != a) {
        std::vector<ConceptId> stack{q};
        std::vector<PathEdge> edges;
        std::vector<double> edge_scores;
        s.on_path[q] = 1;
        // Depth-first over the skeleton; a vertex is entered only if `a` is still reachable
        // within the hops left, so every branch explored ends in at least one path.
        auto dfs = [&](auto&& self, uint32_t u, int depth, double product) -> void {
          for (auto e : boost::make_iterator_range(boost::out_edges(u, g))) {
            if (pp.found >= options.enumeration_limit) {
              pp.truncated = true;
              return;
            }
            const uint32_t v = boost::target(e, g);
            if (s.on_path[v]) continue;
            const SkeletonEdge& info = g[e];
            const double next = product * info.score;
            if (v == a) {
              ++pp.found;
              Path path;
              path.concepts = stack;
              path.concepts.push_back(v);
              path.edges = edges;
              path.edges.push_back({info.relation, info.forward});
              double score = next;
              if (!prune) {
                for (size_t i = 1; i + 1 < path.concepts.size(); ++i) {
                  score *= DegreeFactor(graph_, path.concepts[i]);
                }
              } else if (score < options.min_score) {
                continue;
              }
              path.score = score;
              pp.paths.push_back(std::move(path));
              continue;
            }
            if (depth + 1 >= max_hops || s.dist[v] > max_hops - depth - 1) continue;
            s.on_path[v] = 1;
            stack.push_back(v);
            edges.push_back({info.relation, info.forward});
            self(self, v, depth + 1, next);
            edges.pop_back();
            stack.pop_back();
            s.on_path[v] = 0;
          }
        };
        dfs(dfs, q, 0, 1.0);
        s.on_path[q] = 0;
        RankAndCap(&pp, options);
      }
      result.push_back(std::move(pp));
    }
    for (uint32_t v : s.touched) {
      s.dist[v] = kFar;
      s.color[v] = boost::white_color;
    }
    s.dist[a] = kFar;
    s.color[a] = boost::white_color;
    s.touched.clear();
  }
  // Results were produced answer-major; callers expect question-major order.
  std::vector<PairPaths> ordered;
  ordered.reserve(result.size());
  for (size_t qi = 0; qi < from.size(); ++qi) {
    for (size_t ai = 0; ai < to.size(); ++ai) ordered.push_back(std::move(result[ai * from.size() + qi]));
  }
  return ordered;
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
                                    best_edge.relation, best_edge.forward)) {
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
      } else if (static_cast<int>(next.size()) - 1 < options.max_hops) {
        queue.push_back(std::move(next));
      }
    }
  }
  RankAndCap(&pp, options);
  return pp;
}

}  // namespace spade::retrieval
