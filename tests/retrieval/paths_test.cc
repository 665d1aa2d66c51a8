#include "retrieval/paths.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/error.h"
#include "retrieval/grounding.h"
#include "retrieval/subgraph.h"
#include "tests/retrieval/test_graphs.h"

namespace spade::retrieval {
namespace {

kg::ConceptId Id(const kg::Graph& g, std::string_view name) {
  auto id = g.find(name);
  EXPECT_TRUE(id.has_value()) << name;
  return id.value_or(0);
}

std::vector<std::string> Rendered(const kg::Graph& g, const PairPaths& pp) {
  std::vector<std::string> out;
  for (const Path& p : pp.paths) out.push_back(FormatPath(g, p));
  return out;
}

TEST(PathFinderTest, HandCheckedPathsOnTheDigGraph) {
  const kg::Graph g = testing::DigGraph();
  PathFinder finder(g);
  PathOptions opt;
  PairPaths pp = finder.Find(Id(g, "dig"), Id(g, "shovel"), opt);
  EXPECT_EQ(Rendered(g, pp), (std::vector<std::string>{"dig <-UsedFor- shovel"}));
  EXPECT_DOUBLE_EQ(pp.paths[0].score, 1.0);

  pp = finder.Find(Id(g, "flower"), Id(g, "dig"), opt);
  EXPECT_EQ(Rendered(g, pp), (std::vector<std::string>{
                                 "flower -AtLocation-> garden <-AtLocation- shovel -UsedFor-> dig"}));

  // flower and plant are joined twice (flower -IsA-> plant, plant -RelatedTo-> flower): the
  // path keeps the better edge, IsA (weight 1) over RelatedTo (0.5).
  opt.max_hops = 2;
  pp = finder.Find(Id(g, "flower"), Id(g, "ground"), opt);
  ASSERT_EQ(Rendered(g, pp),
            (std::vector<std::string>{"flower -IsA-> plant -AtLocation-> ground"}));
  // 1 * 1 * 1 / log2(2 + degree(plant) = 3)
  EXPECT_NEAR(pp.paths[0].score, 1.0 / std::log2(5.0), 1e-6);
  EXPECT_EQ(pp.found, 1u);

  // No path within one hop; a concept to itself has no path.
  opt.max_hops = 1;
  EXPECT_TRUE(finder.Find(Id(g, "flower"), Id(g, "ground"), opt).paths.empty());
  EXPECT_TRUE(finder.Find(Id(g, "dig"), Id(g, "dig"), opt).paths.empty());
}

TEST(PathFinderTest, OverGeneralConceptsAreNotInnerNodes) {
  const kg::Graph g = testing::DigGraph();
  PathFinder finder(g);
  PathOptions opt;
  opt.max_hops = 2;
  EXPECT_EQ(Rendered(g, finder.Find(Id(g, "child"), Id(g, "dig"), opt)),
            (std::vector<std::string>{"child -IsA-> person -CapableOf-> dig"}));
  const std::vector<bool> mask = OverGeneralMask(g);
  EXPECT_TRUE(mask[Id(g, "person")]);
  EXPECT_FALSE(mask[Id(g, "shovel")]);
  opt.no_transit = &mask;
  EXPECT_TRUE(finder.Find(Id(g, "child"), Id(g, "dig"), opt).paths.empty());
  EXPECT_TRUE(EnumeratePathsBfs(g, nullptr, Id(g, "child"), Id(g, "dig"), opt).paths.empty());
  // As an end point it is still fine.
  EXPECT_EQ(finder.Find(Id(g, "person"), Id(g, "dig"), opt).paths.size(), 1u);
  const std::vector<bool> wrong(3, false);
  opt.no_transit = &wrong;
  EXPECT_THROW(finder.Find(0, 1, opt), Error);
}

TEST(PathFinderTest, RanksCapsAndTruncates) {
  // a reaches z through b (direct 2 hops), c-d (3 hops) and the direct edge.
  const kg::Graph g = testing::MakeGraph({{"a", "UsedFor", "z"},
                                          {"a", "IsA", "b"},
                                          {"b", "IsA", "z"},
                                          {"a", "RelatedTo", "c"},
                                          {"c", "RelatedTo", "d"},
                                          {"d", "RelatedTo", "z"}});
  PathFinder finder(g);
  PathOptions opt;
  PairPaths pp = finder.Find(Id(g, "a"), Id(g, "z"), opt);
  EXPECT_EQ(Rendered(g, pp), (std::vector<std::string>{
                                 "a -UsedFor-> z", "a -IsA-> b -IsA-> z",
                                 "a -RelatedTo-> c -RelatedTo-> d -RelatedTo-> z"}));
  EXPECT_GT(pp.paths[0].score, pp.paths[1].score);
  EXPECT_GT(pp.paths[1].score, pp.paths[2].score);
  opt.max_paths_per_pair = 2;
  pp = finder.Find(Id(g, "a"), Id(g, "z"), opt);
  EXPECT_EQ(pp.paths.size(), 2u);
  EXPECT_EQ(pp.found, 3u);
  EXPECT_FALSE(pp.truncated);
  opt.enumeration_limit = 1;
  pp = finder.Find(Id(g, "a"), Id(g, "z"), opt);
  EXPECT_TRUE(pp.truncated);
  EXPECT_EQ(pp.found, 1u);
}

TEST(PathFinderTest, BadArgumentsAreErrors) {
  const kg::Graph g = testing::DigGraph();
  PathFinder finder(g);
  PathOptions opt;
  EXPECT_THROW(finder.Find(0, 100000, opt), Error);
  opt.max_hops = 0;
  EXPECT_THROW(finder.Find(0, 1, opt), Error);
  kg::TransE wrong(3, 1, 4, 1, 1.0f, 1);
  EXPECT_THROW(PathFinder(g, &wrong), Error);
}

// Same paths, same edges, same scores, same order as the BFS reference.
void ExpectAgree(const kg::Graph& g, const kg::TransE* emb, kg::ConceptId a, kg::ConceptId b,
                 int hops, const PathFinder& finder, const std::vector<bool>* no_transit = nullptr) {
  PathOptions opt;
  opt.no_transit = no_transit;
  opt.max_hops = hops;
  opt.max_paths_per_pair = 1u << 30;
  opt.enumeration_limit = 1u << 30;
  const PairPaths fast = finder.Find(a, b, opt);
  const PairPaths ref = EnumeratePathsBfs(g, emb, a, b, opt);
  ASSERT_EQ(fast.paths.size(), ref.paths.size()) << g.concept_name(a) << " -> " << g.concept_name(b);
  EXPECT_EQ(fast.found, ref.found);
  for (size_t i = 0; i < ref.paths.size(); ++i) {
    EXPECT_EQ(FormatPath(g, fast.paths[i]), FormatPath(g, ref.paths[i]));
    EXPECT_DOUBLE_EQ(fast.paths[i].score, ref.paths[i].score);
  }
}

TEST(PathFinderTest, AgreesWithBfsReferenceOnTheDigGraph) {
  const kg::Graph g = testing::DigGraph();
  PathFinder finder(g);
  kg::TransE emb(g.num_concepts(), g.num_relations(), 8, 1, 1.0f, 7);
  PathFinder scored(g, &emb);
  const std::vector<bool> mask = OverGeneralMask(g);
  for (int hops = 1; hops <= 4; ++hops) {
    for (kg::ConceptId a = 0; a < g.num_concepts(); ++a) {
      for (kg::ConceptId b = 0; b < g.num_concepts(); ++b) {
        ExpectAgree(g, nullptr, a, b, hops, finder);
        ExpectAgree(g, &emb, a, b, hops, scored);
        ExpectAgree(g, nullptr, a, b, hops, finder, &mask);
      }
    }
  }
}

TEST(PathFinderTest, AgreesWithBfsReferenceOnConceptNet100k) {
  const kg::Graph g = testing::ConceptNet100k();
  ASSERT_GT(g.num_concepts(), 70000u);
  PathFinder finder(g);
  kg::TransE emb(g.num_concepts(), g.num_relations(), 16, 1, 1.0f, 3);
  PathFinder scored(g, &emb);
  const std::vector<bool> cn_mask = OverGeneralMask(g);
  // Pairs of concepts a question would ground to (moderate degree keeps the reference's
  // queue of partial paths small), plus two of the README's.
  std::mt19937 rng(11);
  std::vector<kg::ConceptId> pool;
  for (kg::ConceptId c = 0; c < g.num_concepts(); ++c) {
    if (g.degree(c) >= 2 && g.degree(c) <= 30) pool.push_back(c);
  }
  int with_paths = 0;
  for (int i = 0; i < 300; ++i) {
    const kg::ConceptId a = pool[rng() % pool.size()], b = pool[rng() % pool.size()];
    ExpectAgree(g, nullptr, a, b, 3, finder);
    ExpectAgree(g, &emb, a, b, 3, scored);
    ExpectAgree(g, &emb, a, b, 3, scored, &cn_mask);
    with_paths += finder.Find(a, b, PathOptions{}).paths.empty() ? 0 : 1;
  }
  ExpectAgree(g, nullptr, Id(g, "shovel"), Id(g, "dig"), 2, finder);
  ExpectAgree(g, &emb, Id(g, "shovel"), Id(g, "dig"), 2, scored);
  EXPECT_GT(with_paths, 30);  // the comparison is not vacuous
}

TEST(SubgraphTest, TwoHopSchemaGraphHandChecked) {
  const kg::Graph g = testing::DigGraph();
  Subgraph sg = SchemaSubgraph(g, {Id(g, "dig"), Id(g, "garden")}, {Id(g, "garden")});
  // garden is an answer concept; shovel links dig and garden; person, excavator and
  // plant_flower touch only dig.
  ASSERT_EQ(sg.nodes, (std::vector<kg::ConceptId>{Id(g, "dig"), Id(g, "garden"), Id(g, "shovel")}));
  EXPECT_EQ(sg.roles, (std::vector<NodeRole>{NodeRole::kQuestion, NodeRole::kAnswer,
                                             NodeRole::kIntermediate}));
  ASSERT_EQ(sg.edges.size(), 2u);
  EXPECT_EQ(g.relation_name(sg.edges[0].relation), "UsedFor");
  EXPECT_EQ(sg.edges[0].head, 2u);
  EXPECT_EQ(sg.edges[0].tail, 0u);
  EXPECT_EQ(g.relation_name(sg.edges[1].relation), "AtLocation");
  EXPECT_EQ(sg.edges[1].head, 2u);
  EXPECT_EQ(sg.edges[1].tail, 1u);

  SubgraphOptions tight;
  tight.max_nodes = 2;
  sg = SchemaSubgraph(g, {Id(g, "dig")}, {Id(g, "garden")}, tight);
  EXPECT_EQ(sg.nodes.size(), 2u);
  EXPECT_EQ(sg.intermediates_dropped, 1u);
  EXPECT_TRUE(sg.edges.empty());
  EXPECT_THROW(SchemaSubgraph(g, {999}, {}), Error);
}

}  // namespace
}  // namespace spade::retrieval
