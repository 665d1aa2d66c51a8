// QA examples (fusion/qa_example.h) built from the KG-only scorer's evidence on the hand-made
// dig graph: token layout, entities on the first subword of each mention, paths grouped by
// concept pair, standardised features, truncation that keeps the answer, and clear errors.
#include "fusion/qa_example.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "encoder/error.h"
#include "tests/retrieval/test_graphs.h"

namespace spade::fusion {
namespace {

const retrieval::Lemmatizer& Wn() {
  static const retrieval::Lemmatizer lem = retrieval::Lemmatizer::Load();
  return lem;
}

data::McqItem Item(std::string stem, std::vector<std::string> texts, std::string key) {
  data::McqItem item;
  item.id = "q1";
  item.stem = std::move(stem);
  for (size_t i = 0; i < texts.size(); ++i) item.choices.push_back({std::string(1, char('A' + i)), texts[i]});
  item.answer_key = std::move(key);
  item.source = "test.jsonl:7";
  return item;
}

class QaExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("qa_example_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(std::string(SPADE_SOURCE_DIR) + "/data/tokenizers/bert-base-uncased-vocab.txt",
                               dir_ / "vocab.txt");
    tok_ = encoder::LoadTextTokenizer(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::string> Pieces(const QaChoice& c) const {
    std::vector<std::string> out;
    for (int32_t id : c.ids) out.push_back(tok_.decode({id}));
    return out;
  }
  std::filesystem::path dir_;
  encoder::TextTokenizer tok_;
  kg::Graph graph_ = retrieval::testing::DigGraph();
};

TEST_F(QaExampleTest, TokensEntitiesPathsAndFeaturesOfEachChoice) {
  retrieval::KgScorerWeights w = retrieval::KgScorerWeights::Zero();
  w.mean.assign(w.mean.size(), 0.5);
  w.scale.assign(w.scale.size(), 2.0);
  retrieval::KgScorer scorer(graph_, Wn(), nullptr, w);
  const data::McqItem item = Item("I dug the ground to plant flowers. What did I dig with?", {"spoon", "shovel"}, "B");
  const retrieval::QuestionResult r = scorer.Score(item);
  const QaExample ex = BuildQaExample(item, r, w, tok_);
  EXPECT_EQ(ex.label, 1);
  EXPECT_EQ(ex.source, "test.jsonl:7");
  ASSERT_EQ(ex.choices.size(), 2u);
  const QaChoice& shovel = ex.choices[1];
  const std::vector<int32_t> q = tok_.encode(item.stem), a = tok_.encode("shovel");
  ASSERT_EQ(shovel.ids.size(), q.size() + a.size() + 3);
  EXPECT_EQ(shovel.ids.front(), tok_.cls_id);
  EXPECT_EQ(shovel.ids[q.size() + 1], tok_.sep_id);
  EXPECT_EQ(shovel.ids.back(), tok_.sep_id);
  EXPECT_EQ(shovel.type_ids[q.size() + 1], 0);
  EXPECT_EQ(shovel.type_ids[q.size() + 2], 1);
  // Every token that carries an entity is the first subword of a grounded mention.
  const auto pieces = Pieces(shovel);
  int with_entity = 0;
  for (size_t t = 0; t < shovel.ids.size(); ++t) {
    if (shovel.entity[t] < 0) continue;
    ++with_entity;
    const std::string name(graph_.concept_name(static_cast<kg::ConceptId>(shovel.entity[t])));
    EXPECT_EQ(pieces[t].rfind("##", 0), std::string::npos) << pieces[t];
    if (name == "shovel") {
      EXPECT_EQ(t, q.size() + 2);
    }
    if (name == "dig") {
      EXPECT_TRUE(pieces[t] == "dug" || pieces[t] == "dig") << pieces[t];
    }
  }
  EXPECT_GE(with_entity, 4);  // dig (twice), ground, plant/plant_flower, flower, shovel
  // dig <-UsedFor- shovel: one pair (dig, shovel) holding that path.
  ASSERT_FALSE(shovel.pairs.empty());
  EXPECT_EQ(graph_.concept_name(shovel.pairs[0].answer), "shovel");
  for (const auto& pair : shovel.pairs) {
    for (const auto& p : pair.paths) {
      EXPECT_EQ(p.concepts.front(), pair.question);
      EXPECT_EQ(p.concepts.back(), pair.answer);
    }
  }
  ASSERT_EQ(shovel.kg_features.size(), r.choices[1].features.size());
  for (size_t f = 0; f < shovel.kg_features.size(); ++f) {
    EXPECT_FLOAT_EQ(shovel.kg_features[f], static_cast<float>((r.choices[1].features[f] - 0.5) / 2.0));
  }
}

TEST_F(QaExampleTest, TruncationCutsTheQuestionAndKeepsTheAnswer) {
  retrieval::KgScorer scorer(graph_, Wn(), nullptr, retrieval::KgScorerWeights::Zero());
  const data::McqItem item = Item("I dug the ground to plant flowers. What did I dig with?", {"a shovel", "a spoon"}, "A");
  QaExampleOptions o;
  o.max_seq = 8;
  const QaExample ex = BuildQaExample(item, scorer.Score(item), retrieval::KgScorerWeights::Zero(), tok_, o);
  const QaChoice& c = ex.choices[0];
  ASSERT_EQ(c.ids.size(), 8u);
  const std::vector<int32_t> a = tok_.encode("a shovel");
  EXPECT_TRUE(std::equal(a.begin(), a.end(), c.ids.end() - 1 - static_cast<long>(a.size())));
  EXPECT_EQ(c.ids[8 - a.size() - 2], tok_.sep_id);
  EXPECT_GT(c.dropped_mentions, 0);  // ground, plant, flowers, dig fell off the cut question
  for (size_t t = 0; t < c.ids.size(); ++t) {
    if (c.ids[t] == tok_.cls_id || c.ids[t] == tok_.sep_id) {
      EXPECT_EQ(c.entity[t], -1);
    }
  }
}

TEST_F(QaExampleTest, MismatchedEvidenceIsAClearError) {
  retrieval::KgScorer scorer(graph_, Wn(), nullptr, retrieval::KgScorerWeights::Zero());
  const data::McqItem item = Item("What did I dig with?", {"spoon", "shovel"}, "B");
  const data::McqItem other = Item("What did I dig with?", {"spoon", "goose"}, "B");
  try {
    BuildQaExample(item, scorer.Score(other), retrieval::KgScorerWeights::Zero(), tok_);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.jsonl:7: scored choice 1 is 'goose'"), std::string::npos) << e.what();
  }
  QaExampleOptions o;
  o.max_seq = 4;
  EXPECT_THROW(BuildQaExample(item, scorer.Score(item), retrieval::KgScorerWeights::Zero(), tok_, o), encoder::Error);
}

}  // namespace
}  // namespace spade::fusion
