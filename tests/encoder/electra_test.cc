// ELECTRA generator + discriminator pretraining with shared embeddings.
#include <gtest/gtest.h>

#include "encoder/electra.h"

namespace spade::encoder {
namespace {

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

TEST(Electra, MismatchedEmbeddingSizesAreRejected) {
  ElectraConfig c = Tiny();
  c.generator.embedding_size = 4;
  EXPECT_THROW(ElectraPretrainer{c}, Error);
}

}  // namespace
}  // namespace spade::encoder
