#include "kg/builder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "data/error.h"
#include "kg/store.h"
#include "tests/test_util.h"

namespace spade::kg {
namespace {

using testing::SourcePath;
using testing::TempDir;
using testing::WriteFile;

KgMetadata Build(const std::string& out, std::vector<std::string> inputs, const std::string& relations = "full") {
  BuildOptions o;
  o.out = out;
  for (auto& p : inputs) o.inputs.push_back({p, InputFormat::kAuto});
  o.relations = relations;
  o.merge_file = SourcePath("data/kg/kagnet/merge_relation.txt");
  return BuildKg(o);
}

// "head -Rel-> tail" for every out edge of `name`.
std::vector<std::string> OutEdges(const KgStore& s, const std::string& name) {
  std::vector<std::string> out;
  auto id = s.FindConcept(name);
  if (!id) return out;
  for (const Neighbor& n : s.Neighbors(*id, std::nullopt, Direction::kOut)) {
    out.push_back(name + " -" + s.relations()[n.relation] + "-> " + n.name);
  }
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(BuildKg, MergesDuplicatesKeepingMaxWeightAndKeepsNegationsApart) {
  TempDir dir;
  WriteFile(dir / "a.tsv", "shovel\tUsedFor\tdig\t0.5\nShovel\tusedfor\tdig\t2\npig\tCapableOf\tfly\t-1\n");
  WriteFile(dir / "b.tsv", "shovel\tUsedFor\tdig\t1\nshovel\tIsA\ttool\n");
  KgMetadata m = Build(dir / "kg", {dir / "a.tsv", dir / "b.tsv"});
  EXPECT_EQ(m.edges, 2u);
  EXPECT_EQ(m.negated_edges, 1u);
  EXPECT_EQ(m.concepts, 5u);  // dig fly pig shovel tool
  auto s = KgStore::Open(dir / "kg");
  auto shovel = s->FindConcept("shovel");
  ASSERT_TRUE(shovel);
  auto used_for = s->FindRelation("UsedFor");
  auto ns = s->Neighbors(*shovel, used_for, Direction::kOut);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].name, "dig");
  EXPECT_FLOAT_EQ(ns[0].weight, 2.0f);
  // The negated assertion is stored apart and is no edge of the graph.
  EXPECT_TRUE(OutEdges(*s, "pig").empty());
  auto neg = s->NegatedTriples();
  ASSERT_EQ(neg.size(), 1u);
  EXPECT_EQ(s->ConceptName(neg[0].head), "pig");
  EXPECT_EQ(s->ConceptName(neg[0].tail), "fly");
  EXPECT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[0].format, "tsv");
  EXPECT_EQ(m.inputs[0].sha256.size(), 64u);
}

TEST(BuildKg, KagNet17MergeRenamesAndReverses) {
  TempDir dir;
  WriteFile(dir / "a.tsv",
            "car\tHasA\twheel\nsleep\tMotivatedByGoal\trest\nbank\tLocatedNear\triver\nx\tHasPainIntensity\ty\n");
  KgMetadata m = Build(dir / "kg", {dir / "a.tsv"}, "kagnet17");
  EXPECT_EQ(m.relation_schema, "kagnet17");
  auto s = KgStore::Open(dir / "kg");
  EXPECT_TRUE(Has(OutEdges(*s, "wheel"), "wheel -PartOf-> car"));
  EXPECT_TRUE(Has(OutEdges(*s, "rest"), "rest -Causes-> sleep"));
  EXPECT_TRUE(Has(OutEdges(*s, "bank"), "bank -AtLocation-> river"));
  EXPECT_EQ(m.edges, 3u);
  EXPECT_EQ(m.inputs[0].skipped, 1u);  // HasPainIntensity is not in KagNet's schema
}

TEST(BuildKg, ConceptNet100kAndConceptNet4ShippedFiles) {
  TempDir dir;
  KgMetadata m = Build(dir / "kg", {SourcePath("data/kg/conceptnet100k/train100k.txt.gz"),
                                    SourcePath("data/kg/conceptnet4/cn4_en_triples.tsv.gz")});
  EXPECT_EQ(m.inputs[0].rows, 100000u);
  EXPECT_EQ(m.inputs[0].bad_rows, 0u);
  EXPECT_EQ(m.inputs[1].rows, 225202u);
  EXPECT_EQ(m.inputs[1].negated, 6349u);
  auto s = KgStore::Open(dir / "kg");
  EXPECT_TRUE(Has(OutEdges(*s, "hockey"), "hockey -ReceivesAction-> play_on_ice"));  // CN-100k line 1
  EXPECT_TRUE(Has(OutEdges(*s, "32_tooth"), "32_tooth -AtLocation-> mouth"));         // CN4 line 2
  EXPECT_GT(m.relation_counts.at("RelatedTo"), 15000u);  // CN4's ConceptuallyRelatedTo
}

TEST(BuildKg, WordNetPointersBecomeRelations) {
  TempDir dir;
  KgMetadata m = Build(dir / "kg", {"/usr/share/wordnet"});
  EXPECT_EQ(m.inputs[0].rows, 117659u);  // synsets
  EXPECT_EQ(m.inputs[0].bad_rows, 0u);
  auto s = KgStore::Open(dir / "kg");
  auto shovel = OutEdges(*s, "shovel");
  EXPECT_TRUE(Has(shovel, "shovel -IsA-> hand_tool"));
  EXPECT_TRUE(Has(OutEdges(*s, "wheel"), "wheel -PartOf-> wheeled_vehicle"));  // part meronym, reversed
  EXPECT_TRUE(Has(OutEdges(*s, "snore"), "snore -Entails-> sleep"));
  EXPECT_TRUE(Has(OutEdges(*s, "hot"), "hot -Antonym-> cold"));
  EXPECT_TRUE(Has(OutEdges(*s, "car"), "car -Synonym-> auto"));
  EXPECT_TRUE(Has(OutEdges(*s, "sweat"), "sweat -MadeOf-> water") || Has(OutEdges(*s, "tear"), "tear -MadeOf-> water") ||
              Has(OutEdges(*s, "water"), "water -MadeOf-> hydrogen"));
}

TEST(BuildKg, RebuildReplacesTheStoreAtomically) {
  TempDir dir;
  WriteFile(dir / "a.tsv", "a\tIsA\tb\n");
  WriteFile(dir / "b.tsv", "c\tIsA\td\ne\tIsA\tf\n");
  Build(dir / "kg", {dir / "a.tsv"});
  auto old_reader = KgStore::Open(dir / "kg");  // a reader with the old store open
  Build(dir / "kg", {dir / "b.tsv"});
  EXPECT_EQ(KgStore::Open(dir / "kg")->metadata().edges, 2u);
  EXPECT_EQ(old_reader->metadata().edges, 1u);
  EXPECT_TRUE(old_reader->FindConcept("a"));  // still readable after the swap
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find("kg.tmp-"), std::string::npos) << "leftover " << e.path();
  }
}

TEST(BuildKg, FailedBuildLeavesThePreviousStore) {
  TempDir dir;
  WriteFile(dir / "a.tsv", "a\tIsA\tb\n");
  Build(dir / "kg", {dir / "a.tsv"});
  WriteFile(dir / "bad.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + "garbage");
  EXPECT_THROW(Build(dir / "kg", {dir / "bad.gz"}), Error);
  BuildOptions strict;
  strict.out = dir / "kg";
  strict.inputs = {{dir / "bad.tsv", InputFormat::kTsv}};
  strict.import.strict = true;
  WriteFile(dir / "bad.tsv", "x\tIsA\ty\nbroken row\n");
  EXPECT_THROW(BuildKg(strict), ParseError);
  auto s = KgStore::Open(dir / "kg");
  EXPECT_EQ(s->metadata().edges, 1u);
  EXPECT_TRUE(s->FindConcept("a"));
}

TEST(BuildKg, RefusesToReplaceADirectoryThatIsNotAKg) {
  TempDir dir;
  std::filesystem::create_directories(dir / "docs");
  WriteFile(dir / "docs/notes.txt", "precious");
  WriteFile(dir / "a.tsv", "a\tIsA\tb\n");
  try {
    Build(dir / "docs", {dir / "a.tsv"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to replace"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "docs/notes.txt"));
}

TEST(BuildKg, ExportedTriplesRebuildTheSameGraph) {
  TempDir dir;
  Build(dir / "kg1", {SourcePath("data/kg/conceptnet4/cn4_en_triples.tsv.gz")}, "kagnet17");
  auto s1 = KgStore::Open(dir / "kg1");
  Graph g1 = s1->LoadGraph();
  // What `spade kg export` writes: head, relation, tail, weight (negative = negated).
  std::ostringstream tsv;
  tsv.precision(9);
  for (const Triple& t : g1.triples()) {
    tsv << g1.concept_name(t.head) << '\t' << g1.relation_name(t.relation) << '\t' << g1.concept_name(t.tail) << '\t'
        << t.weight << '\n';
  }
  for (const Triple& t : s1->NegatedTriples()) {
    tsv << g1.concept_name(t.head) << '\t' << g1.relation_name(t.relation) << '\t' << g1.concept_name(t.tail) << '\t'
        << -t.weight << '\n';
  }
  WriteFile(dir / "export.tsv", tsv.str());
  Build(dir / "kg2", {dir / "export.tsv"});
  auto s2 = KgStore::Open(dir / "kg2");
  Graph g2 = s2->LoadGraph();
  EXPECT_EQ(g1.concept_names(), g2.concept_names());
  EXPECT_EQ(g1.relation_names(), g2.relation_names());
  auto t1 = g1.triples(), t2 = g2.triples();
  ASSERT_EQ(t1.size(), t2.size());
  for (size_t i = 0; i < t1.size(); ++i) {
    ASSERT_EQ(t1[i].head, t2[i].head);
    ASSERT_EQ(t1[i].relation, t2[i].relation);
    ASSERT_EQ(t1[i].tail, t2[i].tail);
    ASSERT_EQ(t1[i].weight, t2[i].weight);
  }
  EXPECT_EQ(s1->NegatedTriples().size(), s2->NegatedTriples().size());
}

}  // namespace
}  // namespace spade::kg
