// The answering pipeline (fusion/answer.h) on the hand-made dig graph: the KG-only scorer
// keeps retrieval::KgScorer's numbers to the bit; a tiny random QA model saved and loaded
// back answers with probabilities, path attention and attended entities that a separate
// forward pass and a naive loop over the attention cache reproduce; a model is refused with
// another KG; the causal-LM scorer gives `spade lm`'s numbers, demonstrations included.
#include "fusion/answer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "encoder/error.h"
#include "tests/encoder/tiny_lm.h"
#include "tests/fusion/tiny_qa_model.h"
#include "tests/retrieval/test_graphs.h"
#include "tests/test_util.h"

namespace spade::fusion {
namespace {

const retrieval::Lemmatizer& Wn() {
  static const retrieval::Lemmatizer lem = retrieval::Lemmatizer::Load();
  return lem;
}

data::McqItem Item(std::string stem, std::vector<std::string> texts, std::string key, std::string source) {
  data::McqItem item;
  item.id = source;
  item.stem = std::move(stem);
  for (size_t i = 0; i < texts.size(); ++i) item.choices.push_back({std::string(1, char('A' + i)), texts[i]});
  item.answer_key = std::move(key);
  item.source = std::move(source);
  return item;
}

std::vector<data::McqItem> DigItems() {
  return {Item("What do you dig with?", {"spoon", "shovel", "excavator"}, "B", "t.jsonl:1"),
          Item("Where do flowers grow?", {"garden", "bank", "ice cream"}, "A", "t.jsonl:2"),
          Item("A child can dig a hole to plant a flower with what?", {"goose", "shovel", "door"}, "B", "t.jsonl:3")};
}

class AnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kg_.graph = &graph_;
    kg_.lemmatizer = &Wn();
    kg_.transe = &transe_;
    kg_.weights = retrieval::KgScorerWeights::Load(std::string(SPADE_SOURCE_DIR) + "/data/models/kg_scorer.json");
    kg_.identity = ComputeKgIdentity(graph_, &transe_);
  }
  std::string ModelDir() {
    const std::string dir = tmp_ / "qa";
    if (!std::filesystem::exists(dir + "/spade.json")) testing::SaveTinyQaModel(graph_, transe_, dir);
    return dir;
  }
  kg::Graph graph_ = retrieval::testing::DigGraph();
  kg::TransE transe_{graph_.num_concepts(), graph_.num_relations(), 8, 1, 1.0f, 3};
  QaKnowledge kg_;
  spade::testing::TempDir tmp_;
};

TEST_F(AnswerTest, KgOnlyScorerKeepsTheKgScorersNumbers) {
  const KgOnlyScorer scorer(kg_);
  const retrieval::KgScorer reference(graph_, Wn(), &transe_, kg_.weights);
  const std::vector<data::McqItem> items = DigItems();
  const std::vector<AnswerResult> all = scorer.AnswerAll(items, /*threads=*/2);
  ASSERT_EQ(all.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const retrieval::QuestionResult want = reference.Score(items[i]);
    for (const AnswerResult& got : {scorer.Answer(items[i]), all[i]}) {
      EXPECT_EQ(got.scorer, "kg");
      EXPECT_EQ(got.predicted, want.predicted);
      EXPECT_EQ(got.no_path, want.no_path);
      ASSERT_EQ(got.choices.size(), want.choices.size());
      for (size_t c = 0; c < want.choices.size(); ++c) {
        EXPECT_EQ(got.choices[c].score, want.choices[c].score) << items[i].source << " choice " << c;
        EXPECT_EQ(got.choices[c].probability, want.choices[c].probability);
        EXPECT_EQ(got.choices[c].num_paths, want.choices[c].num_paths);
        ASSERT_EQ(got.choices[c].paths.size(), want.choices[c].top_paths.size());
        for (size_t p = 0; p < got.choices[c].paths.size(); ++p) {
          EXPECT_EQ(got.choices[c].paths[p].text, retrieval::FormatPath(graph_, want.choices[c].top_paths[p]));
          EXPECT_EQ(got.choices[c].paths[p].score, want.choices[c].top_paths[p].score);
          EXPECT_EQ(got.choices[c].paths[p].attention, -1);
        }
        EXPECT_TRUE(got.choices[c].attended.empty());
      }
    }
  }
  const AnswerResult dig = scorer.Answer(items[0]);
  EXPECT_EQ(dig.answer().text, "shovel");
  EXPECT_EQ(dig.question_concepts, (std::vector<std::string>{"dig"}));
  const AnswerReport rep = SummarizeAnswers(items, all);
  EXPECT_EQ(rep.n, 3u);
  EXPECT_EQ(rep.with_key, 3u);
  EXPECT_EQ(rep.seconds.size(), 3u);
}

// Naive reference for the attended entities: per concept, for every head and every pair of
// entity-bearing tokens (query i, key j with concept at j), the probability, divided by the
// number of heads and query tokens.
std::map<std::string, double> NaiveAttended(const kg::Graph& g, const QaBatchState& st, const QaChoice& ch, int b) {
  const encoder::Matrix& p = st.fusion.layers.back().ent.attn.probs;
  const int T = st.masks.seq, heads = static_cast<int>(p.rows()) / (st.masks.batch * T);
  std::vector<int> ent;
  for (int t = 0; t < static_cast<int>(ch.entity.size()); ++t) {
    if (ch.entity[size_t(t)] >= 0) ent.push_back(t);
  }
  std::map<std::string, double> out;
  for (int j : ent) {
    double s = 0;
    for (int h = 0; h < heads; ++h) {
      for (int i : ent) s += p((b * heads + h) * T + i, j);
    }
    out[g.concept_name(static_cast<kg::ConceptId>(ch.entity[size_t(j)]))] += s / heads / ent.size();
  }
  return out;
}

TEST_F(AnswerTest, ModelScorerAnswersAndExplainsWithTheSavedModel) {
  const ModelScorer scorer(ModelDir(), kg_);
  EXPECT_EQ(scorer.info().examples.max_seq, testing::kTinyMaxSeq);
  const data::McqItem item = DigItems()[2];
  const AnswerResult r = scorer.Answer(item);
  EXPECT_EQ(r.scorer, "model");
  ASSERT_EQ(r.choices.size(), 3u);
  double sum = 0;
  for (const ChoiceAnswer& c : r.choices) sum += c.probability;
  EXPECT_NEAR(sum, 1.0, 1e-12);

  // The same numbers from a separate load, example and forward pass.
  LoadedQaModel m = LoadQaModel(ModelDir(), &transe_, kg_.identity);
  const retrieval::KgScorer kgs(graph_, Wn(), &transe_, kg_.weights);
  const retrieval::QuestionResult scored = kgs.Score(item);
  const QaExample ex = BuildQaExample(item, scored, kg_.weights, m.tok, m.info.examples);
  QaBatchState st;
  m.model->Forward({&ex}, false, 0, &st);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(r.choices[size_t(c)].score, st.scores(0, c), 1e-6);

  std::set<std::string> concepts(r.stem_concepts.begin(), r.stem_concepts.end());
  bool any_path = false;
  for (size_t c = 0; c < 3; ++c) {
    const ChoiceAnswer& a = r.choices[c];
    std::set<std::string> mine = concepts;
    mine.insert(a.answer_concepts.begin(), a.answer_concepts.end());
    // Attended entities: concepts of the question or this choice, summing to 1, heaviest
    // first, as the naive loop over the cache computes them.
    ASSERT_FALSE(a.attended.empty()) << a.text;
    const std::map<std::string, double> want = NaiveAttended(graph_, st, ex.choices[c], static_cast<int>(c));
    ASSERT_EQ(a.attended.size(), want.size());
    double w = 0;
    for (size_t k = 0; k < a.attended.size(); ++k) {
      const AttendedEntity& e = a.attended[k];
      EXPECT_TRUE(mine.count(e.concept_name)) << e.concept_name << " is no concept of " << a.text;
      EXPECT_NEAR(e.weight, want.at(e.concept_name), 1e-9) << e.concept_name;
      if (k > 0) {
        EXPECT_GE(a.attended[k - 1].weight, e.weight);
      }
      w += e.weight;
    }
    EXPECT_NEAR(w, 1.0, 1e-5);
    // Every listed path was read by the model; their attention sums to 1 per choice (all of
    // the choice's example paths are listed) and orders them.
    double att = 0;
    for (size_t k = 0; k < a.paths.size(); ++k) {
      EXPECT_GE(a.paths[k].attention, 0) << a.paths[k].text;
      if (k > 0) {
        EXPECT_GE(a.paths[k - 1].attention, a.paths[k].attention);
      }
      att += a.paths[k].attention;
    }
    if (!a.paths.empty()) {
      any_path = true;
      EXPECT_NEAR(att, 1.0, 1e-5) << a.text;
    }
  }
  EXPECT_TRUE(any_path);

  const nlohmann::ordered_json j = AnswerJson(r, 3);
  for (const char* k : {"question", "scorer", "answer", "question_concepts", "choices"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["scorer"], "model");
  EXPECT_EQ(j["answer"]["text"], r.answer().text);
  EXPECT_EQ(j["choices"][0]["label"], r.answer().label);  // by descending score
  for (const auto& c : j["choices"]) {
    for (const char* k : {"label", "text", "score", "probability", "answer_concepts", "num_paths", "paths",
                          "attended_entities"}) {
      EXPECT_TRUE(c.contains(k)) << k;
    }
    for (const auto& p : c["paths"]) EXPECT_TRUE(p.contains("attention"));
    EXPECT_TRUE(c["attended_entities"][0].contains("concept"));
    EXPECT_TRUE(c["attended_entities"][0].contains("weight"));
  }

  // AnswerAll (evidence on threads, then the model) gives the same answers.
  const std::vector<data::McqItem> items = DigItems();
  const std::vector<AnswerResult> all = scorer.AnswerAll(items, 2);
  for (size_t i = 0; i < items.size(); ++i) {
    const AnswerResult one = scorer.Answer(items[i]);
    EXPECT_EQ(all[i].predicted, one.predicted);
    for (size_t c = 0; c < one.choices.size(); ++c) EXPECT_EQ(all[i].choices[c].score, one.choices[c].score);
  }
}

TEST_F(AnswerTest, ModelScorerRefusesAnotherKg) {
  const std::string dir = ModelDir();
  const kg::Graph other = retrieval::testing::MakeGraph({{"cat", "IsA", "animal"}, {"dog", "IsA", "animal"}});
  const kg::TransE other_transe(other.num_concepts(), other.num_relations(), 8, 1, 1.0f, 3);
  QaKnowledge k = kg_;
  k.graph = &other;
  k.transe = &other_transe;
  k.identity = ComputeKgIdentity(other, &other_transe);
  try {
    ModelScorer scorer(dir, k);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_EQ(e.code(), encoder::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(dir + ": the model was trained with another KG"), std::string::npos)
        << e.what();
  }
  // Same graph, other vectors: refused too, with the command that remakes them.
  const kg::TransE reembedded(graph_.num_concepts(), graph_.num_relations(), 8, 1, 1.0f, 99);
  k = kg_;
  k.transe = &reembedded;
  k.identity = ComputeKgIdentity(graph_, &reembedded);
  try {
    ModelScorer scorer(dir, k);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("spade kg embed"), std::string::npos) << e.what();
  }
}

TEST(LmScorerTest, GivesTheLmChoiceScorersNumbersAndDrawsShotsAsSpadeLm) {
  spade::testing::TempDir tmp;
  const encoder::ByteLevelBpe bpe = spade::testing::LmFactBpe();
  encoder::Gpt2Model model(spade::testing::TinyGpt2Config(bpe.vocab_size(), 128));
  model.Init(3);
  encoder::SaveGpt2Dir(model, tmp / "lm");
  bpe.Save(tmp / "lm");
  std::vector<data::McqItem> items;
  int n = 0;
  for (const auto& f : spade::testing::LmFacts()) {
    ++n;
    items.push_back(Item(f.question, f.choices, std::string(1, char('A' + f.answer)), "facts:" + std::to_string(n)));
  }
  LmScorerOptions o;
  o.model_dir = tmp / "lm";
  const LmScorer zero(o);
  encoder::LmChoiceScorer ref(&model, &bpe, encoder::PromptFormat{}, encoder::ChoiceNorm::kMean);
  const AnswerResult r = zero.Answer(items[0]);
  const encoder::ChoiceResult want = ref.Score({}, spade::testing::LmFacts()[0]);
  EXPECT_EQ(r.scorer, "lm");
  EXPECT_EQ(r.predicted, want.predicted);
  double sum = 0;
  for (size_t c = 0; c < r.choices.size(); ++c) {
    EXPECT_NEAR(r.choices[c].score, want.choices[c].score, 1e-9);
    sum += r.choices[c].probability;
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_FALSE(r.grounded);
  EXPECT_FALSE(r.NothingGrounded());

  o.shots = 2;
  o.pool = items;
  const LmScorer few(o);
  const std::vector<AnswerResult> all = few.AnswerAll(items, 1);
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<encoder::PromptExample> shots;
    for (int s : encoder::SampleShots(4, 2, 1 * 1000003u + i + 1, static_cast<int>(i))) {
      shots.push_back(spade::testing::LmFacts()[size_t(s)]);
    }
    const encoder::ChoiceResult w = ref.Score(shots, spade::testing::LmFacts()[i]);
    EXPECT_EQ(all[i].prompt, w.context);
    EXPECT_EQ(all[i].shots_used, 2);
    for (size_t c = 0; c < w.choices.size(); ++c) EXPECT_NEAR(all[i].choices[c].score, w.choices[c].score, 1e-9);
  }
  o.shots = 4;
  EXPECT_THROW(LmScorer{o}, encoder::Error);
}

}  // namespace
}  // namespace spade::fusion
