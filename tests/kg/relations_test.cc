#include "kg/relations.h"

#include <gtest/gtest.h>

#include "data/error.h"
#include "tests/test_util.h"

namespace spade::kg {
namespace {

TEST(Relations, CanonicalSpellingFromAnySource) {
  EXPECT_EQ(CanonicalRelation("/r/UsedFor"), "UsedFor");
  EXPECT_EQ(CanonicalRelation("usedfor"), "UsedFor");
  EXPECT_EQ(CanonicalRelation("used_for"), "UsedFor");
  EXPECT_EQ(CanonicalRelation("AtLocation"), "AtLocation");
  EXPECT_EQ(CanonicalRelation("ConceptuallyRelatedTo"), "RelatedTo");
  EXPECT_EQ(CanonicalRelation("/r/dbpedia/genre"), "dbpedia/genre");
  EXPECT_EQ(CanonicalRelation(""), std::nullopt);
  EXPECT_EQ(CanonicalRelation("has space"), std::nullopt);
  EXPECT_TRUE(IsKnownRelation("hasprerequisite"));
  EXPECT_FALSE(IsKnownRelation("dog"));
}

TEST(Relations, KagNetMergeFromShippedFile) {
  RelationMerge m = RelationMerge::FromFile(testing::SourcePath("data/kg/kagnet/merge_relation.txt"));
  EXPECT_EQ(m.merged_relations().size(), 17u);
  auto t = m.Map("MotivatedByGoal");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->relation, "Causes");
  EXPECT_TRUE(t->reverse);
  t = m.Map("HasA");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->relation, "PartOf");
  EXPECT_TRUE(t->reverse);
  t = m.Map("LocatedNear");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->relation, "AtLocation");
  EXPECT_FALSE(t->reverse);
  t = m.Map("Synonym");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->relation, "RelatedTo");
  EXPECT_EQ(m.Map("ReceivesAction")->relation, "ReceivesAction");
  EXPECT_EQ(m.Map("HasPainIntensity"), std::nullopt);  // KagNet drops it
}

TEST(Relations, MalformedMergeFileNamesTheLine) {
  try {
    RelationMerge::FromText("isa\n*bad/isa\n", "merge.txt");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), "merge.txt:2: the first relation of a group cannot be reversed");
  }
}

}  // namespace
}  // namespace spade::kg
