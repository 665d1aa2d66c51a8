#include "retrieval/scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/error.h"
#include "tests/retrieval/test_graphs.h"

namespace spade::retrieval {
namespace {

const Lemmatizer& Wn() {
  static const Lemmatizer lem = Lemmatizer::Load();
  return lem;
}

size_t FeatureIndex(const std::string& name) {
  const auto& names = KgFeatureNames();
  return std::find(names.begin(), names.end(), name) - names.begin();
}

// Scores = best path score alone.
KgScorerWeights BestPathOnly() {
  KgScorerWeights w = KgScorerWeights::Zero();
  w.weight[FeatureIndex("best_path_score")] = 1.0;
  return w;
}

data::McqItem Item(std::string stem, std::vector<std::string> texts, std::string key) {
  data::McqItem item;
  item.id = stem;
  item.stem = std::move(stem);
  for (size_t i = 0; i < texts.size(); ++i) {
    item.choices.push_back({std::string(1, static_cast<char>('A' + i)), texts[i]});
  }
  item.answer_key = std::move(key);
  item.source = "test";
  return item;
}

TEST(KgScorerTest, TinyHandMadeSetKnownRightAndWrong) {
  const kg::Graph g = testing::DigGraph();
  KgScorer scorer(g, Wn(), nullptr, BestPathOnly());
  const std::vector<data::McqItem> items = {
      // Right: dig <-UsedFor- shovel (score 1); spoon and goose have no path.
      Item("I dug the ground to plant flowers. What did I dig with?", {"spoon", "shovel", "goose"}, "B"),
      // Wrong on purpose: the key says bird, the KG links flowers to the garden.
      Item("Where do flowers grow?", {"garden", "bird"}, "B"),
      // Nothing grounds: every choice ties at 0 and the first wins.
      Item("xyzzy plugh?", {"shovel", "xyzzy"}, "A"),
  };
  std::vector<QuestionResult> results;
  const EvalReport rep = EvaluateKgScorer(scorer, items, 2, &results);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].predicted, 1);
  EXPECT_EQ(results[1].predicted, 0);
  EXPECT_EQ(results[2].predicted, 0);
  EXPECT_EQ(rep.n, 3u);
  EXPECT_EQ(rep.with_key, 3u);
  EXPECT_EQ(rep.correct, 2u);
  EXPECT_NEAR(rep.accuracy(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(rep.no_question_concept, 1u);
  EXPECT_EQ(rep.no_answer_concept, 1u);  // "xyzzy"
  EXPECT_EQ(rep.no_path, 1u);
  EXPECT_EQ(rep.seconds.size(), 3u);

  const ChoiceResult& shovel = results[0].choices[1];
  EXPECT_EQ(shovel.label, "B");
  ASSERT_FALSE(shovel.top_paths.empty());
  EXPECT_EQ(FormatPath(g, shovel.top_paths[0]), "dig <-UsedFor- shovel");
  EXPECT_DOUBLE_EQ(shovel.score, 1.0);
  EXPECT_DOUBLE_EQ(shovel.features[FeatureIndex("paths_1hop")], std::log1p(1.0));
  EXPECT_DOUBLE_EQ(shovel.features[FeatureIndex("answer_grounded")], 1.0);
  EXPECT_GT(shovel.probability, results[0].choices[0].probability);
  double total = 0;
  for (const ChoiceResult& c : results[0].choices) total += c.probability;
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(KgScorerTest, BadQuestionsAreErrors) {
  const kg::Graph g = testing::DigGraph();
  KgScorer scorer(g, Wn(), nullptr, BestPathOnly());
  EXPECT_THROW(scorer.Score(Item("", {"a", "b"}, "")), ParseError);              // empty question
  EXPECT_THROW(scorer.Score(Item("What?", {"shovel"}, "")), ParseError);         // one choice
  data::McqItem dup = Item("What?", {"shovel", "spoon"}, "");
  dup.choices[1].label = "A";
  try {
    scorer.Score(dup);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate choice label 'A'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(scorer.Score(Item("What?", {"shovel", ""}, "")), ParseError);     // empty choice
}

TEST(KgScorerTest, MalformedJsonlNamesFileAndLine) {
  const auto path = std::filesystem::temp_directory_path() / ("spade_scorer_bad_" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream out(path);
    out << R"({"id": "1", "question": {"stem": "What did I dig with?", "choices": [{"label": "A", "text": "shovel"}, {"label": "B", "text": "spoon"}]}, "answerKey": "A"})" << "\n";
    out << R"({"id": "2", "question": {"stem": "broken", "choices": [)" << "\n";
  }
  try {
    data::ReadMcqJsonl(path.string());
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ":2"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(KgScorerTest, WeightsRoundTripAndRefuseOtherFeatures) {
  const auto dir = std::filesystem::temp_directory_path() / ("spade_scorer_w_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  KgScorerWeights w = BestPathOnly();
  w.mean[0] = 0.25;
  w.scale[1] = 2.0;
  w.note = "hand-made";
  w.Save((dir / "w.json").string());
  KgScorerWeights back = KgScorerWeights::Load((dir / "w.json").string());
  EXPECT_EQ(back.mean, w.mean);
  EXPECT_EQ(back.scale, w.scale);
  EXPECT_EQ(back.weight, w.weight);
  EXPECT_EQ(back.note, "hand-made");
  {
    std::ofstream out(dir / "other.json");
    out << R"({"features": ["a"], "mean": [0], "scale": [1], "weights": [1]})";
  }
  try {
    KgScorerWeights::Load((dir / "other.json").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("train-kg-scorer"), std::string::npos);
  }
  EXPECT_THROW(KgScorerWeights::Load((dir / "missing.json").string()), Error);
  std::filesystem::remove_all(dir);
}

TEST(KgScorerTest, TrainingFindsTheInformativeFeature) {
  const size_t nf = KgFeatureNames().size();
  const size_t informative = FeatureIndex("best_path_score");
  std::vector<std::vector<std::vector<double>>> features;
  std::vector<int> answers;
  for (int q = 0; q < 60; ++q) {
    std::vector<std::vector<double>> choices(4, std::vector<double>(nf, 0.0));
    for (int c = 0; c < 4; ++c) {
      choices[c][0] = (q * 7 + c * 3) % 5;  // noise
      choices[c][informative] = 0.1 * c;
    }
    const int right = q % 4;
    choices[right][informative] = 1.0;
    features.push_back(choices);
    answers.push_back(right);
  }
  double acc = 0;
  KgScorerWeights w = TrainKgScorer(features, answers, 300, 0.5, 1e-3, &acc);
  EXPECT_DOUBLE_EQ(acc, 1.0);
  EXPECT_GT(w.weight[informative], 1.0);
  EXPECT_LT(std::abs(w.weight[0]), w.weight[informative] / 4);
  EXPECT_THROW(TrainKgScorer({}, {}), Error);
}

}  // namespace
}  // namespace spade::retrieval
