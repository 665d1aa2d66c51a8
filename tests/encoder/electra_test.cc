// ELECTRA generator + discriminator pretraining with shared embeddings.
#include <gtest/gtest.h>

#include <algorithm>

#include "encoder/electra.h"
#include "tests/encoder/gradcheck.h"

namespace spade::encoder {
namespace {

using testing::CheckGradient;

ElectraConfig Tiny() {
  ElectraConfig c;
  EncoderConfig e;
  e.arch = Arch::kElectra;
  e.vocab_size = 30;
  e.embedding_size = 8;
  e.hidden_size = 16;
  e.num_hidden_layers = 2;
  e.num_attention_heads = 2;
  e.intermediate_size = 24;
  e.max_position_embeddings = 16;
  e.hidden_dropout_prob = 0.0f;
  e.attention_probs_dropout_prob = 0.0f;
  c.discriminator = e;
  e.hidden_size = 8;  // the generator is smaller
  e.intermediate_size = 12;
  c.generator = e;
  c.mask_token_id = 4;
  c.mask_prob = 0.3f;
  return c;
}

Batch Data() {
  Batch b;
  b.batch = 4;
  b.seq = 8;
  for (int i = 0; i < 32; ++i) b.input_ids.push_back(5 + (i * 3) % 7);  // a learnable pattern
  b.attention_mask.assign(32, 1.0f);
  b.attention_mask[31] = b.attention_mask[30] = 0.0f;
  return b;
}

TEST(Electra, SharedEmbeddingsStayIdenticalAndLossFalls) {
  ElectraPretrainer p(Tiny());
  p.Init(1);
  AdamWConfig oc;
  oc.lr = 3e-3f;
  oc.weight_decay = 0.0f;
  AdamW gen_opt(p.generator().params(), oc), disc_opt(p.discriminator().params(), oc);
  const Batch b = Data();
  float first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    const ElectraStep s = p.ForwardBackward(b, 100 + static_cast<uint64_t>(step));
    ASSERT_TRUE(std::isfinite(s.loss));
    if (step == 0) first = s.generator_loss;
    last = s.generator_loss;
    disc_opt.Step(&p.discriminator().params());
    gen_opt.Step(&p.generator().params());
    p.SyncSharedEmbeddings();
  }
  EXPECT_LT(last, first);  // the generator learns the pattern
  const int g = p.generator().params().Find("embeddings.word_embeddings.weight");
  const int d = p.discriminator().params().Find("embeddings.word_embeddings.weight");
  EXPECT_EQ(std::as_const(p.generator().params()).Value(g), std::as_const(p.discriminator().params()).Value(d));
}

TEST(Electra, GeneratorEmbeddingGradientsFoldIntoTheDiscriminator) {
  ElectraPretrainer p(Tiny());
  p.Init(2);
  p.generator().params().ZeroGrad();
  p.discriminator().params().ZeroGrad();
  const ElectraStep s = p.ForwardBackward(Data(), 7);
  EXPECT_GT(s.generator_loss, 0.0f);
  EXPECT_GT(s.discriminator_loss, 0.0f);
  const int g = p.generator().params().Find("embeddings.word_embeddings.weight");
  EXPECT_EQ(p.generator().params().Grad(g).cwiseAbs().sum(), 0.0f);
  // Deterministic for a seed.
  ElectraPretrainer q(Tiny());
  q.Init(2);
  EXPECT_EQ(q.ForwardBackward(Data(), 7).loss, s.loss);
}

// Draws fixed by hand for Data(): masked tokens spread over the three unpadded rows, the
// first put back unchanged (the generator "sampled the original"), the rest replaced.
ElectraCorruption FixedCorruption(const Batch& b) {
  ElectraCorruption k;
  k.masked = {1, 4, 9, 13, 18, 22, 27, 29};
  for (size_t i = 0; i < k.masked.size(); ++i) {
    const int32_t original = b.input_ids[size_t(k.masked[i])];
    k.replaced.push_back(i == 0 ? original : 5 + (original - 5 + 1 + static_cast<int32_t>(i)) % 20);
  }
  return k;
}

// Loss = generator MLM + 50 * discriminator RTD as a function of the parameters, the draws
// and the dropout streams held fixed. The shared embeddings live in the discriminator's
// arena; perturbing them there and syncing moves both models' copies, so their analytic
// gradient must carry the generator's part too.
TEST(Electra, JointLossGradientsMatchFiniteDifferences) {
  ElectraConfig c = Tiny();
  for (EncoderConfig* e : {&c.generator, &c.discriminator}) {
    e->hidden_dropout_prob = e->attention_probs_dropout_prob = 0.1f;
    e->initializer_range = 0.3f;  // weights of 0.02 make +-eps a large move through the LayerNorms
    e->layer_norm_eps = 1e-5f;
  }
  ElectraPretrainer p(c);
  p.Init(3);
  const Batch b = Data();
  const ElectraCorruption k = FixedCorruption(b);
  constexpr uint64_t kDropoutSeed = 11;
  ParamArena &gen = p.generator().params(), &disc = p.discriminator().params();
  gen.ZeroGrad();
  disc.ZeroGrad();
  const ElectraStep s = p.ForwardBackward(b, k, kDropoutSeed);
  ASSERT_GT(s.generator_loss, 0.0f);
  ASSERT_GT(s.discriminator_loss, 0.0f);
  const std::vector<float> gen_grad(gen.grads(), gen.grads() + gen.size());
  const std::vector<float> disc_grad(disc.grads(), disc.grads() + disc.size());
  auto loss = [&] {
    p.SyncSharedEmbeddings();
    return static_cast<double>(p.ForwardBackward(b, k, kDropoutSeed).loss);
  };
  auto check = [&](ParamArena& arena, const std::vector<float>& analytic, const std::string& name) {
    const int id = arena.Find(name);
    ASSERT_GE(id, 0) << name;
    const ParamInfo& info = arena.info(id);
    CheckGradient(name, arena.values() + info.offset, analytic.data() + info.offset, size_t(info.rows) * info.cols,
                  loss);
  };
  for (const char* shared : {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                             "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                             "embeddings.LayerNorm.bias"}) {
    SCOPED_TRACE(std::string("shared ") + shared);
    check(disc, disc_grad, shared);
    const ParamInfo& gi = gen.info(gen.Find(shared));
    for (size_t i = 0; i < size_t(gi.rows) * gi.cols; ++i) ASSERT_EQ(gen_grad[gi.offset + i], 0.0f) << i;
  }
  for (const char* name : {"encoder.layer.0.attention.self.query.weight", "encoder.layer.1.output.dense.weight",
                           "generator_predictions.dense.weight", "generator_lm_head.bias"}) {
    SCOPED_TRACE(std::string("generator ") + name);
    check(gen, gen_grad, name);
  }
  for (const char* name : {"embeddings_project.weight", "encoder.layer.0.attention.self.key.weight",
                           "encoder.layer.1.output.dense.weight", "discriminator_predictions.dense.weight",
                           "discriminator_predictions.dense_prediction.weight"}) {
    SCOPED_TRACE(std::string("discriminator ") + name);
    check(disc, disc_grad, name);
  }
}

TEST(Electra, MaskedTokenSampledAsTheOriginalIsLabelledOriginal) {
  ElectraPretrainer p(Tiny());
  p.Init(4);
  const Batch b = Data();
  const ElectraCorruption k = FixedCorruption(b);
  const ElectraStep s = p.ForwardBackward(b, k, 5);
  const ElectraInputs& in = p.last_inputs();
  EXPECT_EQ(in.corruption.masked, k.masked);
  EXPECT_EQ(in.corruption.replaced, k.replaced);
  EXPECT_FLOAT_EQ(s.replaced_fraction, 7.0f / 8.0f);
  std::vector<float> want(b.input_ids.size(), 0.0f);
  for (size_t i = 1; i < k.masked.size(); ++i) want[size_t(k.masked[i])] = 1.0f;
  EXPECT_EQ(in.discriminator.rtd_labels, want);  // masked[0] kept its token: 0, like every unmasked token
  for (size_t i = 0; i < k.masked.size(); ++i) {
    const size_t n = size_t(k.masked[i]);
    EXPECT_EQ(in.masked.input_ids[n], 4);  // [MASK]
    EXPECT_EQ(in.generator.mlm_labels[n], b.input_ids[n]);
    EXPECT_EQ(in.corrupted.input_ids[n], k.replaced[i]);
  }
  EXPECT_EQ(std::count(in.generator.mlm_labels.begin(), in.generator.mlm_labels.end(), -100),
            static_cast<long>(b.input_ids.size() - k.masked.size()));
}

// The same rule when the generator draws: over seeds, some masked token gets its own id back.
TEST(Electra, SampledOriginalsAreLabelledOriginalWhenDrawn) {
  ElectraPretrainer p(Tiny());
  p.Init(5);
  const Batch b = Data();
  int sampled_original = 0, sampled_other = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    p.ForwardBackward(b, seed);
    const ElectraInputs& in = p.last_inputs();
    std::vector<float> want(b.input_ids.size(), 0.0f);
    for (size_t i = 0; i < in.corruption.masked.size(); ++i) {
      const size_t n = size_t(in.corruption.masked[i]);
      ASSERT_NE(b.attention_mask[n], 0.0f);
      const bool same = in.corruption.replaced[i] == b.input_ids[n];
      (same ? sampled_original : sampled_other)++;
      want[n] = same ? 0.0f : 1.0f;
    }
    ASSERT_EQ(in.discriminator.rtd_labels, want) << "seed " << seed;
  }
  EXPECT_GT(sampled_original, 0);
  EXPECT_GT(sampled_other, 0);
}

// The explicit overload with the draws the seeded one made is the same step.
TEST(Electra, GivenDrawsReproduceTheSeededStep) {
  ElectraConfig c = Tiny();
  c.discriminator.hidden_dropout_prob = 0.1f;
  ElectraPretrainer a(c), q(c);
  a.Init(6);
  q.Init(6);
  const Batch b = Data();
  const ElectraStep sa = a.ForwardBackward(b, 21);
  const ElectraStep sq = q.ForwardBackward(b, a.last_inputs().corruption, 21);
  EXPECT_EQ(sa.loss, sq.loss);
  EXPECT_EQ(sa.replaced_fraction, sq.replaced_fraction);
  const ParamArena &ga = a.discriminator().params(), &gq = q.discriminator().params();
  // Equal up to summation order (Eigen splits reductions by the arena's address alignment).
  for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga.grads()[i], gq.grads()[i], 1e-5f) << i;
}

TEST(Electra, BadDrawsAreRejected) {
  ElectraPretrainer p(Tiny());
  p.Init(7);
  const Batch b = Data();
  auto expect_error = [&](ElectraCorruption k, const std::string& needle) {
    try {
      p.ForwardBackward(b, k, 1);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{3, 2}, {5, 5}}, "masked[1] = 2 is not above masked[0] = 3");
  expect_error({{31}, {5}}, "masked[0] = 31 is a padding token");
  expect_error({{32}, {5}}, "masked[0] = 32 outside [0, 32)");
  expect_error({{1, 2}, {5}}, "replaced");
  expect_error({{1}, {30}}, "replaced[0] = 30 outside the vocabulary [0, 30)");
}

TEST(Electra, MismatchedEmbeddingSizesAreRejected) {
  ElectraConfig c = Tiny();
  c.generator.embedding_size = 4;
  EXPECT_THROW(ElectraPretrainer{c}, Error);
}

}  // namespace
}  // namespace spade::encoder
