#include "kg/verbalize.h"

#include <gtest/gtest.h>

#include "data/error.h"
#include "kg/builder.h"
#include "tests/test_util.h"

namespace spade::kg {
namespace {

using testing::TempDir;
using testing::WriteFile;

TEST(Verbalize, ConceptNetStyleTemplates) {
  EXPECT_EQ(VerbalizeTriple("shovel", "UsedFor", "digging"), "A shovel is used for digging.");
  EXPECT_EQ(VerbalizeTriple("dog", "IsA", "animal"), "A dog is a type of animal.");
  EXPECT_EQ(VerbalizeTriple("apple", "HasProperty", "red"), "An apple is red.");
  EXPECT_EQ(VerbalizeTriple("ice_cream", "AtLocation", "freezer"), "You are likely to find an ice cream in a freezer.");
  EXPECT_EQ(VerbalizeTriple("dogs", "CapableOf", "bark"), "Dogs can bark.");          // plural: no article
  EXPECT_EQ(VerbalizeTriple("the_sun", "HasProperty", "hot"), "The sun is hot.");     // has a determiner
  EXPECT_EQ(VerbalizeTriple("glass", "MadeOf", "sand"), "A glass is made of sand.");  // -ss is not a plural
  EXPECT_EQ(VerbalizeTriple("eat", "HasPrerequisite", "open_mouth"),
            "Something you need to do before you eat is open mouth.");
  EXPECT_EQ(VerbalizeTriple("wheel", "PartOf", "car"), "A wheel is part of a car.");
  EXPECT_EQ(VerbalizeTriple("abandon", "Synonym", "give_up"), "Abandon means the same as give up.");
  EXPECT_EQ(VerbalizeTriple("x", "dbpedia/genre", "y"), std::nullopt);
}

TEST(Verbalize, OneDocumentPerHeadConcept) {
  Graph g = Graph::FromTriples({"animal", "digging", "dog", "shovel", "tool"}, {"IsA", "UsedFor", "dbpedia/genre"},
                               {{2, 0, 0, 1.0f}, {3, 1, 1, 1.0f}, {3, 0, 4, 1.0f}, {2, 2, 0, 1.0f}});
  std::vector<std::vector<std::string>> docs;
  VerbalizeStats st = VerbalizeGraph(g, [&](data::corpus::Document&& d) { docs.push_back(d.sentences); });
  EXPECT_EQ(docs,
            (std::vector<std::vector<std::string>>{{"A dog is a type of animal."},
                                                   {"A shovel is a type of tool.", "A shovel is used for digging."}}));
  EXPECT_EQ(st.documents, 2u);
  EXPECT_EQ(st.sentences, 3u);
  EXPECT_EQ(st.unverbalised, 1u);
  EXPECT_EQ(st.unverbalised_relations["dbpedia/genre"], 1u);
}

TEST(Verbalize, ReadsAStoreAsACorpusSourceWithoutNegations) {
  TempDir dir;
  WriteFile(dir / "a.tsv", "shovel\tUsedFor\tdig\nshovel\tIsA\ttool\npig\tCapableOf\tfly\t-1\n");
  BuildOptions o;
  o.out = dir / "kg";
  o.inputs.push_back({dir / "a.tsv", InputFormat::kAuto});
  BuildKg(o);
  data::corpus::ReadContext ctx;
  std::vector<std::vector<std::string>> docs;
  ctx.emit = [&](data::corpus::Document&& d) { docs.push_back(d.sentences); };
  std::string sha;
  ReadKgCorpusSource(dir / "kg", ctx, &sha);
  EXPECT_EQ(docs,
            (std::vector<std::vector<std::string>>{{"A shovel is a type of tool.", "A shovel is used for dig."}}));
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_THROW(ReadKgCorpusSource(dir / "missing", ctx, &sha), Error);
}

}  // namespace
}  // namespace spade::kg
