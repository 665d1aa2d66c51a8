#include "retrieval/lemmatizer.h"

#include <gtest/gtest.h>

#include "data/error.h"

namespace spade::retrieval {
namespace {

const Lemmatizer& Wn() {
  static const Lemmatizer lem = Lemmatizer::Load();
  return lem;
}

TEST(LemmatizerTest, ExceptionListsWin) {
  // Irregular forms come from {noun,verb,adj}.exc.
  EXPECT_EQ(Wn().Lemma("dug"), "dig");       // verb.exc, although "dug" is also a noun
  EXPECT_EQ(Wn().Lemma("geese"), "goose");   // noun.exc
  EXPECT_EQ(Wn().Lemma("children"), "child");
  EXPECT_EQ(Wn().Lemma("went"), "go");
  EXPECT_EQ(Wn().Lemma("mice"), "mouse");
  // "better" is also an adjective of its own, listed after the exception forms.
  EXPECT_EQ(Wn().Lemmas("better", Pos::kAdj), (std::vector<std::string>{"good", "well", "better"}));
  EXPECT_EQ(Wn().Lemmas("leaves", Pos::kNoun), (std::vector<std::string>{"leaf", "leave"}));
}

TEST(LemmatizerTest, SuffixRulesCheckedAgainstIndex) {
  EXPECT_EQ(Wn().Lemma("flowers"), "flower");
  EXPECT_EQ(Wn().Lemma("boxes"), "box");
  EXPECT_EQ(Wn().Lemma("churches"), "church");
  EXPECT_EQ(Wn().Lemma("policemen"), "policeman");
  EXPECT_EQ(Wn().Lemma("berries"), "berry");
  EXPECT_EQ(Wn().Lemmas("planting", Pos::kVerb), (std::vector<std::string>{"plant"}));
  EXPECT_EQ(Wn().Lemmas("baked", Pos::kVerb), (std::vector<std::string>{"bake"}));
  EXPECT_EQ(Wn().Lemmas("taller", Pos::kAdj), (std::vector<std::string>{"tall"}));
  // "glass" is not the plural of "glas"; a known word stays itself.
  EXPECT_EQ(Wn().Lemmas("glass", Pos::kNoun), (std::vector<std::string>{"glass"}));
  EXPECT_EQ(Wn().Lemma("shovel"), "shovel");
}

TEST(LemmatizerTest, UnknownWordsStayThemselves) {
  EXPECT_TRUE(Wn().Lemmas("qwzxv", Pos::kNoun).empty());
  EXPECT_EQ(Wn().Lemma("qwzxvs"), "qwzxvs");
  EXPECT_EQ(Wn().Lemma(""), "");
}

TEST(LemmatizerTest, MissingDirectoryIsNotFound) {
  try {
    Lemmatizer::Load("/nonexistent/wordnet");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/wordnet/index.noun"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("wordnet-base"), std::string::npos);
  }
}

}  // namespace
}  // namespace spade::retrieval
