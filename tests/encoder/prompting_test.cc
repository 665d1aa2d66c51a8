// Zero-/one-/few-shot prompting: the prompt text, the window fitting, the three score
// normalisations against sums taken directly from the model's logits, and a tiny GPT-2
// trained here that must answer its facts zero-shot through the scorer.
#include "encoder/prompting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "encoder/error.h"
#include "encoder/optim.h"
#include "tests/encoder/tiny_lm.h"

namespace spade::encoder {
namespace {

using spade::testing::LmFacts;
const std::vector<PromptExample>& Facts() { return LmFacts(); }
ByteLevelBpe FactBpe() { return spade::testing::LmFactBpe(); }
Gpt2Config TinyGpt2(int vocab, int positions) { return spade::testing::TinyGpt2Config(vocab, positions); }

TEST(Prompting, ZeroOneAndFewShotContexts) {
  const PromptFormat f;
  const auto& facts = Facts();
  EXPECT_EQ(BuildPromptContext(f, {}, facts[0]), "Q: what do you dig with?\nA:");
  EXPECT_EQ(BuildPromptContext(f, {facts[1]}, facts[0]),
            "Q: what do you bake bread in?\nA: oven\n\nQ: what do you dig with?\nA:");
  EXPECT_EQ(BuildPromptContext(f, {facts[1], facts[2]}, facts[0]),
            "Q: what do you bake bread in?\nA: oven\n\n"
            "Q: what do you fly in the wind?\nA: kite\n\n"
            "Q: what do you dig with?\nA:");
  PromptFormat g;
  g.instruction = "Answer with a tool.";
  g.list_choices = true;
  g.question_prefix = "Question: ";
  g.answer_prefix = "\nAnswer:";
  EXPECT_EQ(BuildPromptContext(g, {facts[3]}, facts[0]),
            "Answer with a tool.\n\n"
            "Question: what do you play music on?\nChoices: oven, kite, shovel, violin\nAnswer: violin\n\n"
            "Question: what do you dig with?\nChoices: shovel, oven, kite, violin\nAnswer:");
  EXPECT_EQ(ChoiceContinuation("shovel"), " shovel");
}

TEST(Prompting, DemonstrationWithoutAValidAnswerIsNamed) {
  PromptExample bad = Facts()[1];
  bad.answer = 7;
  try {
    BuildPromptContext(PromptFormat{}, {Facts()[0], bad}, Facts()[2]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("demonstration 1 ('what do you bake bread in?'): answer index 7"),
              std::string::npos)
        << e.what();
  }
}

TEST(Prompting, NormNamesRoundTrip) {
  for (ChoiceNorm n : {ChoiceNorm::kSum, ChoiceNorm::kMean, ChoiceNorm::kUnconditional}) {
    EXPECT_EQ(ParseChoiceNorm(ChoiceNormName(n)), n);
  }
  EXPECT_THROW(ParseChoiceNorm("avg"), Error);
}

// log p(ids[t] | ids[<t]) summed over t in [start, ids.size()), from one unpadded forward.
double DirectLogprob(Gpt2Model& m, const std::vector<int32_t>& ids, size_t start) {
  Batch b;
  b.batch = 1;
  b.seq = static_cast<int>(ids.size());
  b.input_ids = ids;
  Gpt2Outputs out;
  m.Forward(b, {}, StepOptions{}, &out);
  double sum = 0;
  for (size_t t = start; t < ids.size(); ++t) {
    const auto row = out.logits.row(static_cast<Eigen::Index>(t - 1)).cast<double>();
    sum += row(ids[t]) - std::log(row.array().exp().sum());
  }
  return sum;
}

std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Prompting, ScoresMatchDirectLikelihoodsForEveryNorm) {
  const ByteLevelBpe bpe = FactBpe();
  Gpt2Model model(TinyGpt2(bpe.vocab_size(), 128));
  model.Init(5);
  const auto& facts = Facts();
  const std::vector<PromptExample> shots = {facts[1], facts[2]};
  const std::vector<int32_t> ctx = bpe.Encode(BuildPromptContext(PromptFormat{}, shots, facts[0]));
  const std::vector<int32_t> bare = bpe.Encode("A:");

  for (ChoiceNorm norm : {ChoiceNorm::kSum, ChoiceNorm::kMean, ChoiceNorm::kUnconditional}) {
    LmChoiceScorer scorer(&model, &bpe, PromptFormat{}, norm);
    const ChoiceResult r = scorer.Score(shots, facts[0]);
    ASSERT_EQ(r.choices.size(), 4u);
    EXPECT_EQ(r.shots_used, 2);
    EXPECT_FALSE(r.truncated);
    EXPECT_EQ(r.context_tokens, static_cast<int>(ctx.size()));
    int best = 0;
    for (size_t i = 0; i < 4; ++i) {
      const std::vector<int32_t> cont = bpe.Encode(ChoiceContinuation(facts[0].choices[i]));
      const double direct = DirectLogprob(model, Concat(ctx, cont), ctx.size());
      const ChoiceScore& s = r.choices[i];
      EXPECT_EQ(s.tokens, static_cast<int>(cont.size()));
      EXPECT_NEAR(s.logprob, direct, 1e-4) << facts[0].choices[i];
      EXPECT_LT(s.logprob, 0.0);
      double expected = direct;
      if (norm == ChoiceNorm::kMean) expected = direct / static_cast<double>(cont.size());
      if (norm == ChoiceNorm::kUnconditional) {
        const double u = DirectLogprob(model, Concat(bare, cont), bare.size());
        EXPECT_NEAR(s.unconditional, u, 1e-4);
        expected = direct - u;
      }
      EXPECT_NEAR(s.score, expected, 2e-4) << ChoiceNormName(norm);
      if (s.score > r.choices[size_t(best)].score) best = static_cast<int>(i);
    }
    EXPECT_EQ(r.predicted, best);
  }
}

TEST(Prompting, WindowDropsOldestShotsThenCutsTheQuestionFromTheLeft) {
  const ByteLevelBpe bpe = FactBpe();
  const auto& facts = Facts();
  const size_t zero = bpe.Encode(BuildPromptContext(PromptFormat{}, {}, facts[0])).size();
  const size_t one = bpe.Encode(BuildPromptContext(PromptFormat{}, {facts[3]}, facts[0])).size();
  size_t longest = 0;
  for (const auto& c : facts[0].choices) longest = std::max(longest, bpe.Encode(ChoiceContinuation(c)).size());

  // Room for one demonstration but not two: the oldest (facts[2]) goes.
  Gpt2Model fits_one(TinyGpt2(bpe.vocab_size(), static_cast<int>(one + longest)));
  fits_one.Init(1);
  LmChoiceScorer s1(&fits_one, &bpe, PromptFormat{}, ChoiceNorm::kSum);
  const ChoiceResult r1 = s1.Score({facts[2], facts[3]}, facts[0]);
  EXPECT_EQ(r1.shots_used, 1);
  EXPECT_EQ(r1.context, BuildPromptContext(PromptFormat{}, {facts[3]}, facts[0]));
  EXPECT_EQ(r1.context_tokens, static_cast<int>(one));
  EXPECT_FALSE(r1.truncated);

  // Not even the bare question fits: it is cut from the left to fill the window exactly.
  const int small = static_cast<int>(zero + longest) - 3;
  Gpt2Model tiny(TinyGpt2(bpe.vocab_size(), small));
  tiny.Init(1);
  LmChoiceScorer s2(&tiny, &bpe, PromptFormat{}, ChoiceNorm::kSum);
  const ChoiceResult r2 = s2.Score({facts[1]}, facts[0]);
  EXPECT_EQ(r2.shots_used, 0);
  EXPECT_TRUE(r2.truncated);
  EXPECT_EQ(r2.context_tokens, small - static_cast<int>(longest));
  const std::vector<int32_t> full = bpe.Encode(BuildPromptContext(PromptFormat{}, {}, facts[0]));
  const std::vector<int32_t> kept(full.end() - r2.context_tokens, full.end());
  const std::vector<int32_t> cont = bpe.Encode(" shovel");
  EXPECT_NEAR(r2.choices[0].logprob, DirectLogprob(tiny, Concat(kept, cont), kept.size()), 1e-4);
}

TEST(Prompting, BadQueriesAreErrors) {
  const ByteLevelBpe bpe = FactBpe();
  Gpt2Model model(TinyGpt2(bpe.vocab_size(), 16));
  model.Init(1);
  LmChoiceScorer scorer(&model, &bpe, PromptFormat{}, ChoiceNorm::kSum);
  EXPECT_THROW(scorer.Score({}, PromptExample{"q?", {}, -1}), Error);
  EXPECT_THROW(scorer.Score({}, PromptExample{"q?", {"a", ""}, -1}), Error);
  try {
    scorer.Score({}, PromptExample{"q?", {"a", std::string(200, 'z') + " long"}, -1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit n_positions 16"), std::string::npos) << e.what();
  }
  Gpt2Model narrow(TinyGpt2(100, 16));
  EXPECT_THROW(LmChoiceScorer(&narrow, &bpe, PromptFormat{}, ChoiceNorm::kSum), Error);
}

TEST(Prompting, SampleShotsIsReproduciblePerQueryAndSkipsTheQuery) {
  const std::vector<int> a = SampleShots(10, 4, 42, 3);
  EXPECT_EQ(a, SampleShots(10, 4, 42, 3));
  EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), 4u);
  for (int i : a) {
    EXPECT_NE(i, 3);
    EXPECT_GE(i, 0);
    EXPECT_LT(i, 10);
  }
  EXPECT_EQ(SampleShots(10, 9, 1, 0).size(), 9u);  // every other item
  std::set<std::vector<int>> draws;
  for (int q = 0; q < 10; ++q) draws.insert(SampleShots(100, 3, 42, q));
  EXPECT_GT(draws.size(), 5u);  // queries get different demonstrations
  EXPECT_TRUE(SampleShots(5, 0, 1, -1).empty());
  EXPECT_THROW(SampleShots(10, 10, 1, 0), Error);
  EXPECT_THROW(SampleShots(3, 4, 1, -1), Error);
}

// A GPT-2 trained on the four facts as prompt text must answer each of them zero-shot, and
// with one demonstration, through the scorer: the prompt, the token boundary between
// context and choice, and the scoring agree with how text was written when it learned.
TEST(Prompting, TrainedTinyGpt2AnswersItsFactsZeroAndOneShot) {
  const ByteLevelBpe bpe = FactBpe();
  const auto& facts = Facts();
  Gpt2Model model(TinyGpt2(bpe.vocab_size(), 128));
  model.Init(3);
  // Untrained, it does not know them (at most chance).
  LmChoiceScorer untrained(&model, &bpe, PromptFormat{}, ChoiceNorm::kSum);
  int lucky = 0;
  for (const auto& f : facts) lucky += untrained.Score({}, f).predicted == f.answer;
  EXPECT_LT(lucky, 4);
  const float loss = spade::testing::TrainOnLmFacts(bpe, &model);
  ASSERT_LT(loss, 0.5f);

  for (ChoiceNorm norm : {ChoiceNorm::kSum, ChoiceNorm::kMean}) {
    LmChoiceScorer scorer(&model, &bpe, PromptFormat{}, norm);
    for (size_t i = 0; i < facts.size(); ++i) {
      EXPECT_EQ(scorer.Score({}, facts[i]).predicted, facts[i].answer) << facts[i].question;
      EXPECT_EQ(scorer.Score({facts[(i + 1) % facts.size()]}, facts[i]).predicted, facts[i].answer)
          << facts[i].question;
    }
  }
}

}  // namespace
}  // namespace spade::encoder
