// Whole-model finite-difference checks WITH dropout on (seeded, so every loss evaluation
// sees the same masks): the parity fixtures run without dropout, these cover the dropout
// sites and the heads end to end. Also the conv1d (transposed Linear) layer.
#include <gtest/gtest.h>

#include "encoder/gpt2.h"
#include "encoder/model.h"
#include "tests/encoder/gradcheck.h"

namespace spade::encoder {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomMatrix;

TEST(GradCheck, Conv1D) {
  ParamArena a;
  Linear l = AddConv1D(a, "c_fc", 4, 3);
  a.Allocate();
  a.Value(l.weight) = RandomMatrix(4, 3, 1);
  a.Value(l.bias) = RandomMatrix(1, 3, 2);
  Matrix x = RandomMatrix(5, 4, 3), g = RandomMatrix(5, 3, 4), y, dx;
  auto loss = [&] {
    LinearForward(a, l, x, &y);
    return Dot(y, g);
  };
  loss();
  LinearBackward(a, l, x, g, &dx);
  CheckGradient("dx", x.data(), dx.data(), x.size(), loss);
  CheckGradient("dW", a.Value(l.weight).data(), a.Grad(l.weight).data(), 12, loss);
}

Batch SmallBatch(int B, int T, int V) {
  Batch b;
  b.batch = B;
  b.seq = T;
  for (int i = 0; i < B * T; ++i) b.input_ids.push_back((i * 7 + 3) % V);
  b.token_type_ids.assign(static_cast<size_t>(B * T), 0);
  b.attention_mask.assign(static_cast<size_t>(B * T), 1.0f);
  b.attention_mask.back() = 0.0f;  // one padded token
  return b;
}

// Checks a sample of every tensor's gradient.
template <typename LossFn>
void CheckAllParams(ParamArena& arena, LossFn&& loss) {
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const ParamInfo& p = arena.info(id);
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 1e-2f,
                  3e-3, 3e-2, 6);
  }
}

class ModelGrad : public ::testing::TestWithParam<Arch> {};

TEST_P(ModelGrad, EveryTensorWithDropout) {
  EncoderConfig c;
  c.arch = GetParam();
  c.vocab_size = 23;
  c.hidden_size = 8;
  c.embedding_size = c.arch == Arch::kBert ? 8 : 6;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 10;
  c.max_position_embeddings = 8;
  c.hidden_dropout_prob = 0.2f;
  c.attention_probs_dropout_prob = 0.2f;
  c.layer_norm_eps = 1e-5f;
  c.initializer_range = 0.5f;
  HeadsConfig h;
  h.mlm = true;
  if (c.arch == Arch::kBert) h.sentence = SentenceHead::kClassification;
  if (c.arch == Arch::kAlbert) h.sentence = SentenceHead::kSop;
  if (c.arch == Arch::kElectra) h.rtd = true;
  Model m(c, h);
  m.Init(5);
  const Batch batch = SmallBatch(2, 5, c.vocab_size);
  Targets t;
  t.mlm_labels = {-100, 3, -100, 7, -100, 1, -100, -100, 9, -100};
  if (h.sentence != SentenceHead::kNone) t.sentence_labels = {1, 0};
  if (h.rtd) t.rtd_labels = {0, 1, 0, 0, 1, 1, 0, 0, 1, 0};
  StepOptions opt;
  opt.train = true;
  opt.seed = 11;
  Outputs out;
  auto loss = [&] { return static_cast<double>(m.Forward(batch, t, opt, &out)); };
  m.params().ZeroGrad();
  loss();
  m.Backward(batch, t, &out);
  CheckAllParams(m.params(), loss);
}

INSTANTIATE_TEST_SUITE_P(Archs, ModelGrad, ::testing::Values(Arch::kBert, Arch::kAlbert, Arch::kElectra),
                         [](const ::testing::TestParamInfo<Arch>& i) { return ArchName(i.param); });

// BERT and ALBERT score choices from the pooler; ELECTRA (no pooler) through its SequenceSummary.
class MultipleChoiceGrad : public ::testing::TestWithParam<Arch> {};

TEST_P(MultipleChoiceGrad, HeadGradientsMatchFiniteDifferences) {
  EncoderConfig c;
  c.arch = GetParam();
  c.vocab_size = 19;
  c.hidden_size = c.embedding_size = 8;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 8;
  c.max_position_embeddings = 8;
  c.initializer_range = 0.5f;
  c.layer_norm_eps = 1e-5f;
  HeadsConfig h;
  h.multiple_choice = true;
  Model m(c, h);
  m.Init(2);
  const Batch batch = SmallBatch(4, 4, c.vocab_size);  // 2 questions x 2 choices
  Targets t;
  t.num_choices = 2;
  t.choice_labels = {1, 0};
  Outputs out;
  StepOptions opt;
  opt.train = true;
  opt.seed = 3;
  auto loss = [&] { return static_cast<double>(m.Forward(batch, t, opt, &out)); };
  loss();
  EXPECT_EQ(out.choice_logits.rows(), 2);
  EXPECT_EQ(out.choice_logits.cols(), 2);
  m.Backward(batch, t, &out);
  CheckAllParams(m.params(), loss);
}

INSTANTIATE_TEST_SUITE_P(Archs, MultipleChoiceGrad, ::testing::Values(Arch::kBert, Arch::kAlbert, Arch::kElectra),
                         [](const ::testing::TestParamInfo<Arch>& i) { return ArchName(i.param); });

TEST(ModelGrad, Gpt2WithDropout) {
  Gpt2Config c;
  c.vocab_size = 17;
  c.n_positions = 8;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  c.initializer_range = 0.5f;
  c.resid_pdrop = c.embd_pdrop = c.attn_pdrop = 0.2f;
  Gpt2Model m(c);
  m.Init(4);
  const Batch batch = SmallBatch(2, 5, c.vocab_size);
  std::vector<int32_t> labels = batch.input_ids;
  labels.back() = -100;
  StepOptions opt;
  opt.train = true;
  opt.seed = 9;
  Gpt2Outputs out;
  auto loss = [&] { return static_cast<double>(m.Forward(batch, labels, opt, &out)); };
  loss();
  m.Backward(batch, &out);
  CheckAllParams(m.params(), loss);
}

}  // namespace
}  // namespace spade::encoder
