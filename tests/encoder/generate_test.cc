// Sampling from a causal LM (encoder/generate.h): the KV-cache decoder against full
// forward passes, greedy decoding against a hand-unrolled loop of full forwards, the
// temperature / top-k / top-p filters on hand-computed distributions, seeds, stopping and
// the sliding window.
#include "encoder/generate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/encoder/tiny_lm.h"

namespace spade::encoder {
namespace {

using spade::testing::TinyGpt2Config;

constexpr int kVocab = 50, kPositions = 16;

// Random weights large enough (std 0.3, not GPT-2's 0.02) that next-token logits are well
// separated, so float rounding cannot flip an argmax between two ways of computing it.
std::unique_ptr<Gpt2Model> RandomModel(uint64_t seed, float std = 0.3f) {
  Gpt2Config c = TinyGpt2Config(kVocab, kPositions);
  c.initializer_range = std;
  auto m = std::make_unique<Gpt2Model>(c);
  m->Init(seed);
  return m;
}

std::vector<int32_t> Ids(int n, int salt = 0) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 7 + 3 + salt) % kVocab);
  return ids;
}

// Logits (T, V) of one full forward over `ids`, no cache.
Matrix FullLogits(Gpt2Model& m, const std::vector<int32_t>& ids) {
  Batch b;
  b.batch = 1;
  b.seq = static_cast<int>(ids.size());
  b.input_ids = ids;
  Gpt2Outputs out;
  m.Forward(b, {}, StepOptions{}, &out);
  return out.logits;
}

TEST(Generate, CachedDecoderMatchesFullForwardAtEveryPosition) {
  auto m = RandomModel(1);
  const std::vector<int32_t> ids = Ids(kPositions);
  const Matrix full = FullLogits(*m, ids);
  Gpt2Decoder d(*m);
  // A prefix of 5 in one call, then one token per call up to the full window.
  double worst = 0;
  const RowVector& first = d.Append(std::vector<int32_t>(ids.begin(), ids.begin() + 5));
  worst = std::max(worst, double((first - full.row(4)).cwiseAbs().maxCoeff()));
  for (int t = 5; t < kPositions; ++t) {
    const RowVector& logits = d.Append({ids[size_t(t)]});
    worst = std::max(worst, double((logits - full.row(t)).cwiseAbs().maxCoeff()));
  }
  EXPECT_EQ(d.length(), kPositions);
  EXPECT_LE(worst, 1e-4) << "max |cached - full| over the window";
  EXPECT_THROW(d.Append({1}), Error);  // the window is full
  d.Reset();
  EXPECT_LE((d.Append(ids) - full.row(kPositions - 1)).cwiseAbs().maxCoeff(), 1e-4);
  d.Reset();
  EXPECT_THROW(d.Append({kVocab}), Error);
  EXPECT_THROW(d.Append({}), Error);
}

// The reference: one full forward over the last n_positions tokens per step, argmax by hand.
std::vector<int32_t> GreedyByHand(Gpt2Model& m, std::vector<int32_t> text, int steps) {
  std::vector<int32_t> out;
  for (int s = 0; s < steps; ++s) {
    const size_t keep = std::min<size_t>(text.size(), kPositions);
    const std::vector<int32_t> window(text.end() - static_cast<std::ptrdiff_t>(keep), text.end());
    const Matrix logits = FullLogits(m, window);
    const Eigen::Index last = logits.rows() - 1;
    int32_t best = 0;
    for (int v = 1; v < kVocab; ++v) {
      if (logits(last, v) > logits(last, best)) best = v;
    }
    out.push_back(best);
    text.push_back(best);
  }
  return out;
}

TEST(Generate, GreedyEqualsFullForwardArgmaxLoop) {
  auto m = RandomModel(2);
  GenerateConfig c;
  c.temperature = 0;
  c.max_tokens = 24;  // 6 + 24 > 16 positions: the window slides for the last 14 steps
  const std::vector<int32_t> prompt = Ids(6);
  const GenerateResult r = Generate(*m, prompt, c);
  EXPECT_EQ(r.tokens, GreedyByHand(*m, prompt, 24));
  EXPECT_FALSE(r.stopped_at_eos);
  EXPECT_EQ(r.prompt_tokens_dropped, 0);
  // A prompt longer than n_positions keeps its last n_positions tokens.
  const std::vector<int32_t> long_prompt = Ids(kPositions + 5, 1);
  const GenerateResult l = Generate(*m, long_prompt, c);
  EXPECT_EQ(l.prompt_tokens_dropped, 5);
  EXPECT_EQ(l.tokens, GreedyByHand(*m, long_prompt, 24));
  EXPECT_EQ(l.tokens, Generate(*m, std::vector<int32_t>(long_prompt.begin() + 5, long_prompt.end()), c).tokens);
}

TEST(Generate, TopKOneIsGreedyAtAnyTemperatureAndSeed) {
  auto m = RandomModel(3);
  GenerateConfig greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 20;
  const std::vector<int32_t> want = Generate(*m, Ids(4), greedy).tokens;
  for (uint64_t seed : {1u, 2u, 99u}) {
    GenerateConfig c = greedy;
    c.temperature = 1.5f;
    c.top_k = 1;
    c.seed = seed;
    EXPECT_EQ(Generate(*m, Ids(4), c).tokens, want) << seed;
  }
}

TEST(Generate, StopsAfterTheEndOfTextToken) {
  auto m = RandomModel(4);
  GenerateConfig c;
  c.temperature = 0;
  c.max_tokens = 10;
  const std::vector<int32_t> free_run = Generate(*m, Ids(3), c).tokens;
  ASSERT_EQ(free_run.size(), 10u);
  c.eos_token_id = free_run[2];
  const GenerateResult r = Generate(*m, Ids(3), c);
  EXPECT_TRUE(r.stopped_at_eos);
  const auto first = std::find(free_run.begin(), free_run.end(), free_run[2]);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(free_run.begin(), first + 1));  // the token itself included
  c.max_tokens = 0;
  EXPECT_TRUE(Generate(*m, Ids(3), c).tokens.empty());
}

TEST(Generate, SameSeedSameTextOtherSeedOtherText) {
  auto m = RandomModel(5, /*std=*/0.02f);  // untrained: a nearly flat distribution
  GenerateConfig c;
  c.max_tokens = 20;
  c.seed = 7;
  const std::vector<int32_t> a = Generate(*m, Ids(3), c).tokens;
  EXPECT_EQ(Generate(*m, Ids(3), c).tokens, a);
  c.seed = 8;
  const std::vector<int32_t> b = Generate(*m, Ids(3), c).tokens;
  EXPECT_NE(b, a);
  EXPECT_EQ(b.size(), 20u);
}

// ---- the filters, on distributions worked out by hand ----

std::vector<float> LogitsOf(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}

void ExpectDistribution(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "token " << i;
}

std::vector<double> Dist(const std::vector<float>& logits, float temperature, int top_k, float top_p) {
  GenerateConfig c;
  c.temperature = temperature;
  c.top_k = top_k;
  c.top_p = top_p;
  return SamplingDistribution(logits.data(), static_cast<int>(logits.size()), c);
}

TEST(SamplingDistribution, TemperatureScalesTheLogits) {
  const std::vector<float> l = LogitsOf({0.5, 0.3, 0.15, 0.05});
  ExpectDistribution(Dist(l, 1, 0, 1), {0.5, 0.3, 0.15, 0.05});
  // T = 2: p ~ sqrt(p); T = 0.5: p ~ p^2.
  const double s = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.15) + std::sqrt(0.05);
  ExpectDistribution(Dist(l, 2, 0, 1), {std::sqrt(0.5) / s, std::sqrt(0.3) / s, std::sqrt(0.15) / s, std::sqrt(0.05) / s});
  const double q = 0.25 + 0.09 + 0.0225 + 0.0025;
  ExpectDistribution(Dist(l, 0.5f, 0, 1), {0.25 / q, 0.09 / q, 0.0225 / q, 0.0025 / q});
}

TEST(SamplingDistribution, TopKKeepsTheKLargestAndTiesWithTheKth) {
  const std::vector<float> l = LogitsOf({0.15, 0.5, 0.05, 0.3});
  ExpectDistribution(Dist(l, 1, 2, 1), {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  ExpectDistribution(Dist(l, 1, 4, 1), {0.15, 0.5, 0.05, 0.3});
  ExpectDistribution(Dist(l, 1, 9, 1), {0.15, 0.5, 0.05, 0.3});  // k beyond V: no limit
  ExpectDistribution(Dist({1, 1, 1, 0}, 1, 2, 1), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0});
}

TEST(SamplingDistribution, TopPKeepsTheSmallestSetReachingP) {
  const std::vector<float> l = LogitsOf({0.05, 0.5, 0.15, 0.3});
  // Sorted: 0.5, 0.3, 0.15, 0.05; a token stays while the mass before it is below p.
  ExpectDistribution(Dist(l, 1, 0, 0.4f), {0, 1, 0, 0});
  ExpectDistribution(Dist(l, 1, 0, 0.6f), {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  ExpectDistribution(Dist(l, 1, 0, 0.9f), {0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95});
  ExpectDistribution(Dist(l, 1, 0, 1.0f), {0.05, 0.5, 0.15, 0.3});
  // Exactly at the boundary (0.25 each, exact in binary): the set that reaches p stops
  // there, as transformers removes tokens whose tail mass is <= 1 - p; equal
  // probabilities go by lower id.
  ExpectDistribution(Dist({0, 0, 0, 0}, 1, 0, 0.5f), {0.5, 0.5, 0, 0});
  ExpectDistribution(Dist({0, 0, 0, 0}, 1, 0, 0.75f), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0});
  // After the temperature: at T = 2 the mass spreads (p ~ sqrt(p)), so p = 0.6 keeps two of
  // 0.379, 0.294, ... and p = 0.7 keeps three.
  const double a = std::sqrt(0.5), b = std::sqrt(0.3), c = std::sqrt(0.15);
  ExpectDistribution(Dist(l, 2, 0, 0.6f), {0, a / (a + b), 0, b / (a + b)});
  ExpectDistribution(Dist(l, 2, 0, 0.7f), {0, a / (a + b + c), c / (a + b + c), b / (a + b + c)});
}

TEST(SamplingDistribution, TopKComesBeforeTopP) {
  const std::vector<float> l = LogitsOf({0.5, 0.3, 0.15, 0.05});
  // top-p 0.6 alone keeps {0.5, 0.3}; after top-k 2 renormalises to {0.625, 0.375}, the mass
  // before the second token is 0.625 >= 0.6 and only the first stays.
  ExpectDistribution(Dist(l, 1, 0, 0.6f), {0.5 / 0.8, 0.3 / 0.8, 0, 0});
  ExpectDistribution(Dist(l, 1, 2, 0.6f), {1, 0, 0, 0});
  ExpectDistribution(Dist(l, 1, 2, 0.7f), {0.625, 0.375, 0, 0});
}

TEST(SamplingDistribution, DrawsFollowTheFilteredDistribution) {
  // The first token over many seeds follows the filtered next-token distribution.
  auto m = RandomModel(6, /*std=*/0.5f);
  const std::vector<int32_t> prompt = Ids(3);
  Gpt2Decoder d(*m);
  const RowVector logits = d.Append(prompt);
  GenerateConfig c;
  c.max_tokens = 1;
  c.top_k = 3;
  const std::vector<double> p = SamplingDistribution(logits.data(), kVocab, c);
  std::vector<int> counts(kVocab, 0);
  constexpr int kDraws = 3000;
  for (int s = 0; s < kDraws; ++s) {
    c.seed = static_cast<uint64_t>(s);
    ++counts[size_t(Generate(*m, prompt, c).tokens.at(0))];
  }
  for (int v = 0; v < kVocab; ++v) {
    if (p[size_t(v)] == 0) {
      EXPECT_EQ(counts[size_t(v)], 0) << v;
    } else {  // within 5 standard deviations of the binomial count
      const double mean = kDraws * p[size_t(v)], sd = std::sqrt(mean * (1 - p[size_t(v)]));
      EXPECT_NEAR(counts[size_t(v)], mean, 5 * sd + 1) << v;
    }
  }
}

TEST(Generate, BadSettingsAreNamedErrors) {
  auto m = RandomModel(7);
  auto expect_error = [&](GenerateConfig c, const std::vector<int32_t>& prompt, const std::string& needle) {
    try {
      Generate(*m, prompt, c);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  GenerateConfig c;
  c.temperature = -0.5f;
  expect_error(c, Ids(2), "temperature must be >= 0");
  c = {};
  c.temperature = NAN;
  expect_error(c, Ids(2), "temperature must be >= 0");
  for (float p : {0.0f, -0.1f, 1.5f, NAN}) {
    c = {};
    c.top_p = p;
    expect_error(c, Ids(2), "top_p must be in (0, 1]");
  }
  c = {};
  c.top_k = -1;
  expect_error(c, Ids(2), "top_k must be >= 0");
  c = {};
  c.max_tokens = -1;
  expect_error(c, Ids(2), "max_tokens must be >= 0");
  c = {};
  expect_error(c, {}, "the prompt has no tokens");
  expect_error(c, {1, kVocab}, "prompt[1] = 50 outside the vocabulary [0, 50)");
  c.eos_token_id = kVocab;
  expect_error(c, Ids(2), "eos_token_id 50 outside the vocabulary");
}

}  // namespace
}  // namespace spade::encoder
