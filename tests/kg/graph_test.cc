#include "kg/graph.h"

#include <gtest/gtest.h>

#include "data/error.h"

namespace spade::kg {
namespace {

TEST(Graph, CsrRowsAreOrderedByRelationThenOther) {
  // 0 a, 1 b, 2 c; relations 0 IsA, 1 UsedFor
  Graph g = Graph::FromTriples({"a", "b", "c"}, {"IsA", "UsedFor"},
                               {{0, 1, 2, 1.0f}, {0, 0, 2, 0.5f}, {0, 0, 1, 2.0f}, {2, 1, 0, 1.0f}});
  auto out = g.out_edges(0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].relation, 0);
  EXPECT_EQ(out[0].other, 1u);
  EXPECT_EQ(out[1].other, 2u);
  EXPECT_EQ(out[2].relation, 1);
  auto in = g.in_edges(0);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].other, 2u);
  EXPECT_EQ(g.degree(0), 4u);
  EXPECT_EQ(g.degree(1), 1u);
  EXPECT_EQ(g.find("c"), 2u);
  EXPECT_EQ(g.find("d"), std::nullopt);
  EXPECT_EQ(g.find_relation("UsedFor"), 1);
  EXPECT_EQ(g.triples().size(), 4u);
}

TEST(Graph, RejectsOutOfRangeIds) {
  EXPECT_THROW(Graph::FromTriples({"a"}, {"IsA"}, {{0, 0, 1, 1.0f}}), Error);
  EXPECT_THROW(Graph::FromTriples({"a", "b"}, {"IsA"}, {{0, 3, 1, 1.0f}}), Error);
}

}  // namespace
}  // namespace spade::kg
