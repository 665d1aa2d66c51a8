#include "retrieval/grounding.h"

#include <gtest/gtest.h>

#include "tests/retrieval/test_graphs.h"

namespace spade::retrieval {
namespace {

const Lemmatizer& Wn() {
  static const Lemmatizer lem = Lemmatizer::Load();
  return lem;
}

struct Expected {
  std::string concept_name;
  size_t begin, end;
};

void ExpectMentions(const std::vector<Mention>& got, const std::vector<Expected>& want,
                    std::string_view text) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].concept_name, want[i].concept_name) << "mention " << i;
    EXPECT_EQ(got[i].begin, want[i].begin) << want[i].concept_name;
    EXPECT_EQ(got[i].end, want[i].end) << want[i].concept_name;
    EXPECT_EQ(got[i].surface, text.substr(got[i].begin, got[i].end - got[i].begin));
  }
}

TEST(TokenizeTest, LowercasesAndKeepsByteSpans) {
  const std::string text = "I dug, the Café's ground!";
  std::vector<Token> t = Tokenize(text);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].text, "i");
  EXPECT_EQ(t[1].text, "dug");
  EXPECT_EQ(t[1].begin, 2u);
  EXPECT_EQ(t[1].end, 5u);
  EXPECT_EQ(t[3].text, "caf\xc3\xa9");  // UTF-8 bytes stay inside the word
  EXPECT_EQ(t[4].text, "s");
  EXPECT_EQ(t[5].text, "ground");
  EXPECT_EQ(text.substr(t[5].begin, t[5].end - t[5].begin), "ground");
  EXPECT_TRUE(Tokenize("").empty());
  EXPECT_TRUE(Tokenize(" ?! ").empty());
}

TEST(GroundingTest, DigQuestionHandChecked) {
  const kg::Graph g = testing::DigGraph();
  Grounder grounder(g, Wn());
  const std::string q = "I dug the ground to plant flowers. What did I dig with?";
  // "dug" -> dig through verb.exc; "plant flowers" -> plant_flower with its last word
  // lemmatized, plus the nested plant and flower; "did" -> do is over-general; I, the, to,
  // what, with are stopwords.
  ExpectMentions(grounder.Ground(q),
                 {{"dig", 2, 5}, {"ground", 10, 16}, {"plant_flower", 20, 33}, {"plant", 20, 25},
                  {"flower", 26, 33}, {"dig", 46, 49}},
                 q);
  Grounder longest_only(g, Wn(), {.max_ngram = 4, .keep_nested = false});
  ExpectMentions(longest_only.Ground(q),
                 {{"dig", 2, 5}, {"ground", 10, 16}, {"plant_flower", 20, 33}, {"dig", 46, 49}}, q);
}

TEST(GroundingTest, MultiwordConceptsAndPlurals) {
  const kg::Graph g = testing::DigGraph();
  Grounder grounder(g, Wn());
  const std::string q = "Geese like Ice Creams near a revolving door";
  ExpectMentions(grounder.Ground(q),
                 {{"goose", 0, 5}, {"ice_cream", 11, 21}, {"ice", 11, 14}, {"cream", 15, 21},
                  {"revolving_door", 29, 43}, {"door", 39, 43}},
                 q);
}

TEST(GroundingTest, StopwordsOverGeneralAndUnknownWordsGiveNothing) {
  const kg::Graph g = testing::MakeGraph({{"what", "RelatedTo", "the"},
                                          {"person", "IsA", "thing"},
                                          {"people", "RelatedTo", "shovel"}});
  Grounder grounder(g, Wn());
  EXPECT_TRUE(grounder.Ground("what the").empty());        // stopwords only
  EXPECT_TRUE(grounder.Ground("a person's thing").empty());  // over-general
  EXPECT_TRUE(grounder.Ground("xyzzy plugh").empty());     // not in the KG
  EXPECT_TRUE(grounder.Ground("").empty());
  EXPECT_TRUE(Grounder::IsStopword("the"));
  EXPECT_FALSE(Grounder::IsStopword("shovel"));
  EXPECT_TRUE(Grounder::IsOverGeneral("something"));
}

TEST(GroundingTest, AnswerConceptsWholePhraseThenMentionsThenHeadWord) {
  const kg::Graph g = testing::DigGraph();
  Grounder grounder(g, Wn());
  auto names = [](const std::vector<Mention>& ms) {
    std::vector<std::string> out;
    for (const Mention& m : ms) out.push_back(m.concept_name);
    return out;
  };
  EXPECT_EQ(names(grounder.AnswerConcepts("shovel")), (std::vector<std::string>{"shovel"}));
  EXPECT_EQ(names(grounder.AnswerConcepts("Shovels")), (std::vector<std::string>{"shovel"}));
  EXPECT_EQ(names(grounder.AnswerConcepts("ice cream")),
            (std::vector<std::string>{"ice_cream", "ice", "cream"}));
  // Over-general concepts are still answers when they are the whole choice or its head.
  EXPECT_EQ(names(grounder.AnswerConcepts("person")), (std::vector<std::string>{"person"}));
  EXPECT_EQ(names(grounder.AnswerConcepts("a person")), (std::vector<std::string>{"person"}));
  EXPECT_EQ(names(grounder.AnswerConcepts("a big shovel in the garden")),
            (std::vector<std::string>{"shovel", "garden"}));
  EXPECT_TRUE(grounder.AnswerConcepts("xyzzy").empty());
  EXPECT_TRUE(grounder.AnswerConcepts("").empty());
}

TEST(GroundingTest, BestConnectedVariantInTextWrittenFormFirstForWholeAnswers) {
  // Both the inflected and the base form are concepts (WordNet has "dug" and "saw" as nouns).
  const kg::Graph g = testing::MakeGraph({{"dug", "IsA", "udder"},
                                          {"dig", "RelatedTo", "shovel"},
                                          {"saw", "IsA", "tool"},
                                          {"see", "RelatedTo", "eye"},
                                          {"ground", "IsA", "land"},
                                          {"house", "AtLocation", "ground"},
                                          {"grind", "IsA", "crush"}});
  Grounder grounder(g, Wn());
  // "ground" is also the past of "grind" (verb.exc); the better-connected concept wins.
  ASSERT_EQ(grounder.Ground("the ground").size(), 1u);
  EXPECT_EQ(grounder.Ground("the ground")[0].concept_name, "ground");
  // Equal degrees: the lemma wins.
  ASSERT_EQ(grounder.Ground("I dug and saw").size(), 2u);
  EXPECT_EQ(grounder.Ground("I dug and saw")[0].concept_name, "dig");
  EXPECT_EQ(grounder.Ground("I dug and saw")[1].concept_name, "see");
  const std::vector<Mention> saw = grounder.AnswerConcepts("saw");
  ASSERT_EQ(saw.size(), 1u);  // the tool; its lemmatized twin "see" is not added
  EXPECT_EQ(saw[0].concept_name, "saw");
}

TEST(GroundingTest, PairRemovesAnswerConceptsFromQuestion) {
  const kg::Graph g = testing::DigGraph();
  Grounder grounder(g, Wn());
  PairConcepts pc = grounder.Pair("Where do flowers and shovels go?", "revolving door", "flower");
  ASSERT_EQ(pc.answer.size(), 1u);
  EXPECT_EQ(pc.answer[0].concept_name, "flower");
  std::vector<std::string> q;
  for (const Mention& m : pc.question) q.push_back(m.concept_name);
  // question_concept is added even though the stem does not contain it.
  EXPECT_EQ(q, (std::vector<std::string>{"shovel", "revolving_door"}));
}

}  // namespace
}  // namespace spade::retrieval
