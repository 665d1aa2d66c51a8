// Distillation (encoder/distill.h, distill_task.h): every loss against values worked out by
// hand here and against PyTorch (tools/reference/make_fixtures.py -> fixtures/distill/),
// finite differences of every loss and of the projection, gradients injected into the
// encoder at intermediates (Encoder::Backward's EncoderGradients), the layer mapping, the
// student initialisation, and a tiny teacher distilled end to end (loss falls, resume is
// bit-identical).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "encoder/attention.h"
#include "encoder/checkpoint.h"
#include "encoder/distill.h"
#include "encoder/distill_task.h"
#include "encoder/safetensors.h"
#include "encoder/transformer.h"
#include "tests/encoder/gradcheck.h"
#include "tests/encoder/pretrain_fixture.h"

namespace spade::encoder {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomMatrix;

const std::string kFixture = std::string(SPADE_SOURCE_DIR) + "/tests/encoder/fixtures/distill/losses.safetensors";

// ---------------------------------------------------------------- hand-computed values

TEST(DistillLoss, SoftTargetKlByHand) {
  // One row, two classes. Teacher logits (ln 3, 0), student (0, 0).
  Matrix s(1, 2), t(1, 2), d;
  s << 0.0f, 0.0f;
  t << std::log(3.0f), 0.0f;
  // T = 1: p_t = (3/4, 1/4), p_s = (1/2, 1/2); KL = 3/4 ln(3/2) + 1/4 ln(1/2).
  EXPECT_NEAR(SoftTargetKl(s, t, 1.0f, {}, &d), 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-6);
  EXPECT_NEAR(d(0, 0), 0.5 - 0.75, 1e-6);
  EXPECT_NEAR(d(0, 1), 0.5 - 0.25, 1e-6);
  // T = 2: teacher (ln 3 / 2, 0) -> p_t = (sqrt3, 1) / (sqrt3 + 1); times T^2 = 4; d = T (p_s - p_t).
  const double r3 = std::sqrt(3.0), pt0 = r3 / (r3 + 1), pt1 = 1 / (r3 + 1);
  EXPECT_NEAR(SoftTargetKl(s, t, 2.0f, {}, &d), 4 * (pt0 * std::log(pt0 / 0.5) + pt1 * std::log(pt1 / 0.5)), 1e-6);
  EXPECT_NEAR(d(0, 0), 2 * (0.5 - pt0), 1e-6);
  // A student equal to the teacher: zero loss, zero gradient.
  EXPECT_NEAR(SoftTargetKl(t, t, 3.0f, {}, &d), 0.0, 1e-7);
  EXPECT_LT(d.cwiseAbs().maxCoeff(), 1e-7f);
}

TEST(DistillLoss, SoftTargetsAverageOverCountedRowsOnly) {
  // Row 1 is not counted: the loss is row 0's alone (batchmean over 1 row), row 1 gets no gradient.
  Matrix s(2, 2), t(2, 2), d;
  s << 0.0f, 0.0f, 5.0f, -5.0f;
  t << std::log(3.0f), 0.0f, -4.0f, 4.0f;
  EXPECT_NEAR(SoftTargetKl(s, t, 1.0f, {1, 0}, &d), 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-6);
  EXPECT_EQ(d(1, 0), 0.0f);
  EXPECT_EQ(d(1, 1), 0.0f);
  EXPECT_EQ(SoftTargetKl(s, t, 1.0f, {0, 0}, &d), 0.0f);
  EXPECT_EQ(d.cwiseAbs().maxCoeff(), 0.0f);
  // Cross-entropy form, temperature 1: -(3/4 ln 1/2 + 1/4 ln 1/2) = ln 2 for the uniform student.
  EXPECT_NEAR(SoftCrossEntropy(s, t, 1.0f, {1, 0}, &d), std::log(2.0), 1e-6);
  EXPECT_NEAR(d(0, 0), -0.25, 1e-6);
  EXPECT_THROW(SoftTargetKl(s, t, 0.0f, {}, &d), Error);
  EXPECT_THROW(SoftTargetKl(s, Matrix(2, 3), 1.0f, {}, &d), Error);
  EXPECT_THROW(SoftTargetKl(s, t, 1.0f, {1, 1, 1}, &d), Error);
}

TEST(DistillLoss, CosineByHand) {
  Matrix s(4, 2), t(4, 2), d;
  s << 1, 0, 1, 1, 1, 0, 3, 4;
  t << 0, 1, 2, 2, 1, 1, 9, 9;
  // Rows: orthogonal (1 - 0), parallel (1 - 1), 45 degrees (1 - 1/sqrt2); row 3 is padding.
  const double expected = (1.0 + 0.0 + (1.0 - 1.0 / std::sqrt(2.0))) / 3.0;
  EXPECT_NEAR(CosineEmbeddingLoss(s, t, {1, 1, 1, 0}, &d), expected, 1e-6);
  // Row 0: d(1 - cos)/ds = -(t/(|s||t|) - cos s/|s|^2) / 3 = -(0, 1) / 3.
  EXPECT_NEAR(d(0, 0), 0.0, 1e-6);
  EXPECT_NEAR(d(0, 1), -1.0 / 3.0, 1e-6);
  EXPECT_LT(d.row(1).cwiseAbs().maxCoeff(), 1e-6f);  // parallel: at the minimum
  EXPECT_EQ(d.row(3).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(DistillLoss, MseByHand) {
  Matrix s(2, 2), t(2, 2), d;
  s << 1, 2, 3, 4;
  t << 0, 0, 3, 0;
  EXPECT_NEAR(MseLoss(s, t, {}, &d), (1 + 4 + 0 + 16) / 4.0, 1e-6);
  EXPECT_NEAR(d(1, 1), 2 * 4 / 4.0, 1e-6);
  EXPECT_NEAR(MseLoss(s, t, {1, 0}, &d), (1 + 4) / 2.0, 1e-6);
  EXPECT_EQ(d(1, 1), 0.0f);
}

TEST(DistillLoss, DistilBertWeightsAreThePapersDefaults) {
  DistilBertWeights w;
  EXPECT_EQ(w.ce, 5.0f);
  EXPECT_EQ(w.mlm, 2.0f);
  EXPECT_EQ(w.cos, 1.0f);
}

// ---------------------------------------------------------------- PyTorch reference

class TorchReference : public ::testing::Test {
 protected:
  void SetUp() override { file_ = std::make_unique<SafetensorsFile>(SafetensorsFile::Open(kFixture)); }
  Matrix Get(const std::string& name, int rows, int cols) const {
    const TensorEntry* e = file_->Find(name);
    EXPECT_NE(e, nullptr) << name;
    const std::vector<float> v = file_->ReadFloat(*e);
    EXPECT_EQ(v.size(), static_cast<size_t>(rows) * cols) << name;
    return ConstMatrixMap(v.data(), rows, cols);
  }
  std::vector<float> Vec(const std::string& name) const { return file_->ReadFloat(*file_->Find(name)); }
  float Scalar(const std::string& name) const { return Vec(name).at(0); }
  std::unique_ptr<SafetensorsFile> file_;
};

double MaxAbs(const Matrix& a, const Matrix& b) { return (a - b).cwiseAbs().maxCoeff(); }

TEST_F(TorchReference, SoftTargets) {
  const Matrix s = Get("soft.student", 5, 7), t = Get("soft.teacher", 5, 7);
  const std::vector<float> rows = Vec("soft.rows");
  Matrix d;
  EXPECT_NEAR(SoftTargetKl(s, t, 2.0f, rows, &d), Scalar("kl.loss"), 1e-5);
  EXPECT_LT(MaxAbs(d, Get("kl.grad", 5, 7)), 1e-6);
  EXPECT_NEAR(SoftCrossEntropy(s, t, 1.0f, rows, &d), Scalar("ce.loss"), 1e-5);
  EXPECT_LT(MaxAbs(d, Get("ce.grad", 5, 7)), 1e-6);
}

TEST_F(TorchReference, Cosine) {
  Matrix d;
  EXPECT_NEAR(CosineEmbeddingLoss(Get("cos.student", 6, 5), Get("cos.teacher", 6, 5), Vec("cos.rows"), &d),
              Scalar("cos.loss"), 1e-6);
  EXPECT_LT(MaxAbs(d, Get("cos.grad", 6, 5)), 1e-6);
}

TEST_F(TorchReference, HiddenMseThroughProjection) {
  HiddenProjection p(3, 5);
  ASSERT_FALSE(p.identity());
  const int w = p.params().Find("fit_dense.weight"), b = p.params().Find("fit_dense.bias");
  ASSERT_GE(w, 0);
  ASSERT_GE(b, 0);
  p.params().Value(w) = Get("mse.weight", 5, 3);
  p.params().Value(b) = Get("mse.bias", 1, 5);
  Matrix d;
  EXPECT_NEAR(p.Mse(Get("mse.student", 6, 3), Get("mse.teacher", 6, 5), {}, &d), Scalar("mse.loss"), 1e-5);
  EXPECT_LT(MaxAbs(d, Get("mse.grad.student", 6, 3)), 1e-6);
  EXPECT_LT(MaxAbs(p.params().Grad(w), Get("mse.grad.weight", 5, 3)), 1e-5);
  EXPECT_LT(MaxAbs(p.params().Grad(b), Get("mse.grad.bias", 1, 5)), 1e-5);
}

TEST_F(TorchReference, AttentionScoreMseInjectedIntoAttentionBackward) {
  const AttentionShape s{2, 4, 2, 3, false};
  const std::vector<float> mask = Vec("att.mask");
  const Matrix qs = Get("att.q_student", 8, 6), ks = Get("att.k_student", 8, 6);
  Matrix ss, st, d_scores;
  AttentionScores(s, qs, ks, mask, &ss);
  AttentionScores(s, Get("att.q_teacher", 8, 6), Get("att.k_teacher", 8, 6), mask, &st);
  EXPECT_LT(MaxAbs(ss, Get("att.scores_student", 16, 4)), 1e-5);
  EXPECT_NEAR(MseLoss(ss, st, {}, &d_scores), Scalar("att.loss"), 1e-5);
  // Only the scores carry gradient: zero context gradient, any v.
  AttentionCache cache;
  Matrix v = RandomMatrix(8, 6, 1), ctx, dq, dk, dv;
  AttentionForward(s, qs, ks, v, mask, 0.0f, false, 0, &cache, &ctx);
  AttentionGradInjection inject;
  inject.d_scores = &d_scores;
  inject.key_mask = &mask;
  AttentionBackward(s, qs, ks, v, cache, Matrix::Zero(8, 6), &dq, &dk, &dv, &inject);
  EXPECT_LT(MaxAbs(dq, Get("att.grad.q", 8, 6)), 1e-5);
  EXPECT_LT(MaxAbs(dk, Get("att.grad.k", 8, 6)), 1e-5);
  EXPECT_EQ(dv.cwiseAbs().maxCoeff(), 0.0f);
}

// ---------------------------------------------------------------- finite differences

TEST(DistillGradCheck, EveryLoss) {
  const Matrix t = RandomMatrix(6, 5, 2, 2.0f);
  const std::vector<float> rows = {1, 0, 1, 1, 0, 1};
  Matrix s = RandomMatrix(6, 5, 1, 2.0f), d, unused;
  auto check = [&](const std::string& what, const std::function<float(Matrix*)>& loss) {
    loss(&d);
    CheckGradient(what, s.data(), d.data(), s.size(), [&] { return static_cast<double>(loss(&unused)); });
  };
  check("SoftTargetKl T=2", [&](Matrix* g) { return SoftTargetKl(s, t, 2.0f, rows, g); });
  check("SoftTargetKl T=1", [&](Matrix* g) { return SoftTargetKl(s, t, 1.0f, {}, g); });
  check("SoftCrossEntropy", [&](Matrix* g) { return SoftCrossEntropy(s, t, 1.5f, rows, g); });
  check("CosineEmbeddingLoss", [&](Matrix* g) { return CosineEmbeddingLoss(s, t, rows, g); });
  check("MseLoss", [&](Matrix* g) { return MseLoss(s, t, rows, g); });
}

TEST(DistillGradCheck, Projection) {
  HiddenProjection p(3, 5);
  p.Init(0.5f, 7);
  p.params().Fill(p.params().Find("fit_dense.bias"), 0.1f);
  Matrix x = RandomMatrix(4, 3, 8), d, unused;
  const Matrix t = RandomMatrix(4, 5, 9);
  const std::vector<float> rows = {1, 1, 0, 1};
  ParamArena& a = p.params();
  auto loss = [&] {
    Matrix y, dy;
    p.Forward(x, &y);
    return static_cast<double>(MseLoss(y, t, rows, &dy));
  };
  a.ZeroGrad();
  p.Mse(x, t, rows, &d);
  CheckGradient("d student", x.data(), d.data(), x.size(), loss);
  for (const ParamInfo& info : a.params()) {
    CheckGradient(info.name, a.values() + info.offset, a.grads() + info.offset, size_t(info.rows) * info.cols, loss);
  }
}

TEST(DistillLoss, EqualWidthsNeedNoProjection) {
  HiddenProjection p(4, 4);
  EXPECT_TRUE(p.identity());
  EXPECT_EQ(p.params().size(), 0u);
  const Matrix x = RandomMatrix(3, 4, 1), t = RandomMatrix(3, 4, 2);
  Matrix d1, d2;
  EXPECT_EQ(p.Mse(x, t, {}, &d1), MseLoss(x, t, {}, &d2));
  EXPECT_EQ(d1, d2);
}

// ---------------------------------------------------------------- attention injection

struct InjectCase {
  bool causal;
  bool padded;
  float dropout;
};

class AttentionInjection : public ::testing::TestWithParam<InjectCase> {};

// loss = <G, ctx> + <Gs, scores> + <Gp, probs>: the injected gradients must equal the
// derivatives of the last two terms.
TEST_P(AttentionInjection, MatchesFiniteDifferences) {
  const InjectCase p = GetParam();
  const AttentionShape s{2, 5, 2, 3, p.causal};
  Matrix q = RandomMatrix(10, 6, 11), k = RandomMatrix(10, 6, 12), v = RandomMatrix(10, 6, 13);
  const Matrix g = RandomMatrix(10, 6, 14), gs = RandomMatrix(20, 5, 15), gp = RandomMatrix(20, 5, 16);
  std::vector<float> mask;
  if (p.padded) mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  AttentionCache cache;
  Matrix ctx, scores, dq, dk, dv;
  auto loss = [&] {
    AttentionForward(s, q, k, v, mask, p.dropout, p.dropout > 0, 42, &cache, &ctx);
    AttentionScores(s, q, k, mask, &scores);
    return Dot(ctx, g) + Dot(scores, gs) + Dot(cache.probs, gp);
  };
  loss();
  AttentionGradInjection inject;
  inject.d_scores = &gs;
  inject.d_probs = &gp;
  inject.key_mask = &mask;
  AttentionBackward(s, q, k, v, cache, g, &dq, &dk, &dv, &inject);
  CheckGradient("dq", q.data(), dq.data(), q.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
  CheckGradient("dk", k.data(), dk.data(), k.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
  CheckGradient("dv", v.data(), dv.data(), v.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
}

INSTANTIATE_TEST_SUITE_P(Masks, AttentionInjection,
                         ::testing::Values(InjectCase{false, false, 0.0f}, InjectCase{false, true, 0.0f},
                                           InjectCase{true, true, 0.0f}, InjectCase{false, true, 0.3f}),
                         [](const ::testing::TestParamInfo<InjectCase>& i) {
                           return std::string(i.param.causal ? "Causal" : "Full") +
                                  (i.param.padded ? "Padded" : "Dense") + (i.param.dropout > 0 ? "Dropout" : "");
                         });

TEST(AttentionScoresTest, MaskedEntriesAreZeroAndTheRestScaled) {
  const AttentionShape s{1, 3, 1, 4, false};
  const Matrix q = RandomMatrix(3, 4, 1), k = RandomMatrix(3, 4, 2);
  Matrix scores;
  AttentionScores(s, q, k, {1, 1, 0}, &scores);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(scores(i, 2), 0.0f);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(scores(i, j), q.row(i).dot(k.row(j)) / 2.0f, 1e-6);  // sqrt(D) = 2
  }
}

// ---------------------------------------------------------------- encoder injection

EncoderConfig TinyConfig(Arch arch) {
  EncoderConfig c;
  c.arch = arch;
  c.vocab_size = 23;
  c.hidden_size = 8;
  c.embedding_size = arch == Arch::kBert ? 8 : 6;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 10;
  c.max_position_embeddings = 8;
  c.hidden_dropout_prob = 0.2f;
  c.attention_probs_dropout_prob = 0.2f;
  c.layer_norm_eps = 1e-5f;
  c.initializer_range = 0.5f;
  return c;
}

Batch PaddedBatch(int B, int T, int V) {
  Batch b;
  b.batch = B;
  b.seq = T;
  for (int i = 0; i < B * T; ++i) b.input_ids.push_back((i * 7 + 3) % V);
  b.token_type_ids.assign(static_cast<size_t>(B * T), 0);
  b.attention_mask.assign(static_cast<size_t>(B * T), 1.0f);
  b.attention_mask.back() = 0.0f;
  b.attention_mask[b.attention_mask.size() - 2] = 0.0f;
  return b;
}

// Random upstream gradients at every intermediate the EncoderGradients struct names.
EncoderGradients RandomInjection(const Encoder& e, const Batch& b, uint64_t seed) {
  const EncoderConfig& c = e.config();
  const int N = b.batch * b.seq, L = e.applied_layers(), rows = N * c.num_attention_heads;
  EncoderGradients g;
  g.embeddings = RandomMatrix(N, c.embedding_size, seed);
  if (e.has_projection()) g.embeddings_projected = RandomMatrix(N, c.hidden_size, seed + 1);
  for (int i = 0; i < L; ++i) {
    g.layer_outputs.push_back(RandomMatrix(N, c.hidden_size, seed + 10 + i));
    g.attn_scores.push_back(RandomMatrix(rows, b.seq, seed + 20 + i));
    g.attn_probs.push_back(RandomMatrix(rows, b.seq, seed + 30 + i));
  }
  return g;
}

class EncoderInjection : public ::testing::TestWithParam<Arch> {};

// loss = <G_h, hidden> + <G_e, embeddings> (+ <G_p, embeddings.projected>)
//        + sum_i <G_o_i, layer i output> + <G_s_i, layer i scores> + <G_p_i, layer i probs>,
// dropout on; Backward(d_hidden = G_h, extra = the G's) must be its gradient.
TEST_P(EncoderInjection, EveryTensorMatchesFiniteDifferences) {
  const EncoderConfig c = TinyConfig(GetParam());
  ParamArena arena;
  Encoder e(c, &arena);
  arena.Allocate();
  e.Init(5);
  const Batch b = PaddedBatch(2, 5, c.vocab_size);
  const EncoderGradients g = RandomInjection(e, b, 100);
  const Matrix gh = RandomMatrix(10, c.hidden_size, 99);
  EncoderState st;
  auto loss = [&] {
    e.Forward(b, /*train=*/true, 17, &st);
    double l = Dot(st.hidden, gh) + Dot(st.emb, g.embeddings);
    if (e.has_projection()) l += Dot(Encoder::LayerInput0(st), g.embeddings_projected);
    Matrix scores;
    for (int i = 0; i < e.applied_layers(); ++i) {
      e.AttentionScores(b, st, i, &scores);
      l += Dot(Encoder::LayerOutput(st, i), g.layer_outputs[static_cast<size_t>(i)]) +
           Dot(scores, g.attn_scores[static_cast<size_t>(i)]) +
           Dot(st.layers[static_cast<size_t>(i)].attn.probs, g.attn_probs[static_cast<size_t>(i)]);
    }
    return l;
  };
  loss();
  arena.ZeroGrad();
  Matrix dh = gh;
  e.Backward(b, &st, &dh, nullptr, &g);
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const ParamInfo& p = arena.info(id);
    if (p.name.rfind("pooler", 0) == 0) continue;  // not in this loss
    // eps 2e-3, not the usual 1e-2: at initializer_range 0.5 one token's embedding LayerNorm
    // sees a small variance and the central difference's O(eps^2) error reaches 5% at 1e-2
    // (seen shrinking to 0 as eps falls, so it is truncation, not the analytic gradient).
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 2e-3f,
                  4e-3, 3e-2, 8);
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, EncoderInjection, ::testing::Values(Arch::kBert, Arch::kAlbert, Arch::kElectra),
                         [](const ::testing::TestParamInfo<Arch>& i) { return ArchName(i.param); });

TEST(EncoderInjectionTest, NoExtraGradientsChangeNothing) {
  const EncoderConfig c = TinyConfig(Arch::kAlbert);
  ParamArena arena;
  Encoder e(c, &arena);
  arena.Allocate();
  e.Init(3);
  const Batch b = PaddedBatch(2, 5, c.vocab_size);
  const Matrix gh = RandomMatrix(10, c.hidden_size, 4), gp = RandomMatrix(2, c.hidden_size, 5);
  auto grads = [&](const EncoderGradients* extra) {
    EncoderState st;
    e.Forward(b, true, 9, &st);
    arena.ZeroGrad();
    Matrix dh = gh, dp = gp;
    e.Backward(b, &st, &dh, &dp, extra);
    return std::vector<float>(arena.grads(), arena.grads() + arena.size());
  };
  const std::vector<float> plain = grads(nullptr);
  EncoderGradients empty;
  EXPECT_EQ(grads(&empty), plain);
  empty.layer_outputs.resize(1);  // present but empty entries
  empty.attn_scores.resize(2);
  EXPECT_EQ(grads(&empty), plain);
}

TEST(EncoderInjectionTest, ShapeErrorsNameTheIntermediate) {
  const EncoderConfig c = TinyConfig(Arch::kBert);
  ParamArena arena;
  Encoder e(c, &arena);
  arena.Allocate();
  e.Init(3);
  const Batch b = PaddedBatch(2, 5, c.vocab_size);
  EncoderState st;
  e.Forward(b, false, 0, &st);
  auto message = [&](const EncoderGradients& g) {
    Matrix dh = Matrix::Zero(10, c.hidden_size);
    try {
      e.Backward(b, &st, &dh, nullptr, &g);
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EncoderGradients g;
  g.attn_scores = {Matrix(), Matrix::Zero(20, 4)};
  EXPECT_NE(message(g).find("d layer1.attn.scores: expected shape (20, 5), got (20, 4)"), std::string::npos)
      << message(g);
  g = {};
  g.embeddings_projected = Matrix::Zero(10, 8);
  EXPECT_NE(message(g).find("no embedding projection"), std::string::npos) << message(g);
  g = {};
  g.layer_outputs.resize(3);
  EXPECT_NE(message(g).find("3 layers given"), std::string::npos) << message(g);
}

// ---------------------------------------------------------------- mapping and initialisation

TEST(LayerMapping, UniformStrategy) {
  std::vector<int> got;
  for (int m = 0; m <= 4; ++m) got.push_back(TeacherLayerFor(m, 4, 12));
  EXPECT_EQ(got, (std::vector<int>{0, 3, 6, 9, 12}));  // TinyBERT 4 layers <- BERT-base
  got.clear();
  for (int m = 0; m <= 6; ++m) got.push_back(TeacherLayerFor(m, 6, 12));
  EXPECT_EQ(got, (std::vector<int>{0, 2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(TeacherLayerFor(2, 3, 3), 2);  // same depth: identity
  EXPECT_EQ(TeacherLayerFor(1, 5, 12), 2);  // floor(12 / 5)
  EXPECT_EQ(TeacherLayerFor(5, 5, 12), 12);
  EXPECT_THROW(TeacherLayerFor(0, 4, 2), Error);
  EXPECT_THROW(TeacherLayerFor(5, 4, 12), Error);
  EXPECT_THROW(TeacherLayerFor(-1, 4, 12), Error);
}

EncoderConfig WideConfig(int layers, int hidden) {
  EncoderConfig c;
  c.vocab_size = 31;
  c.hidden_size = c.embedding_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.max_position_embeddings = 10;
  return c;
}

TEST(StudentInit, CopiesEmbeddingsHeadsAndEveryOtherLayer) {
  HeadsConfig h;
  h.mlm = true;
  Model teacher(WideConfig(4, 8), h), student(WideConfig(2, 8), h);
  teacher.Init(1);
  student.Init(2);
  EXPECT_EQ(InitStudentFromTeacher(teacher, &student), (std::vector<int>{0, 2}));
  const ParamArena &ta = teacher.params(), &sa = student.params();
  for (const ParamInfo& p : sa.params()) {
    std::string source = p.name;
    if (p.name.rfind("encoder.layer.1.", 0) == 0) source = "encoder.layer.2." + p.name.substr(16);
    EXPECT_EQ(Matrix(sa.Value(sa.Find(p.name))), Matrix(ta.Value(ta.Find(source)))) << p.name << " <- " << source;
  }
  // And not layer 1 of the teacher.
  EXPECT_NE(Matrix(sa.Value(sa.Find("encoder.layer.1.attention.self.query.weight"))),
            Matrix(ta.Value(ta.Find("encoder.layer.1.attention.self.query.weight"))));
}

TEST(StudentInit, WidthMismatchIsAnErrorAndLeavesTheStudentAlone) {
  HeadsConfig h;
  h.mlm = true;
  Model teacher(WideConfig(4, 8), h), student(WideConfig(2, 4), h);
  teacher.Init(1);
  student.Init(2);
  const std::vector<float> before(student.params().values(), student.params().values() + student.params().size());
  try {
    InitStudentFromTeacher(teacher, &student);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("embeddings.word_embeddings.weight"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::vector<float>(student.params().values(), student.params().values() + student.params().size()),
            before);
}

// ---------------------------------------------------------------- the distillation task

// A random 4-layer BERT teacher with its MLM head and the synthetic corpus's WordPiece
// vocabulary, saved as a model directory.
struct TinyTeacher {
  spade::testing::SyntheticCorpus sc;
  spade::testing::TempDir dir;
  EncoderConfig config;
  TinyTeacher() {
    config.vocab_size = sc.tok.vocab_size;
    config.hidden_size = config.embedding_size = 32;
    config.num_hidden_layers = 4;
    config.num_attention_heads = 2;
    config.intermediate_size = 64;
    config.max_position_embeddings = 32;
    config.initializer_range = 0.2f;  // sharper soft targets than 0.02
    HeadsConfig h;
    h.mlm = true;
    Model m(config, h);
    m.Init(3);
    SaveModelDir(m, dir.path());
    CopyTokenizerFiles(sc.tok, dir.path());
  }
};

DistillConfig TaskConfig(const TinyTeacher& t, DistillMethod method, const std::string& preset) {
  DistillConfig c;
  c.method = method;
  c.teacher_dir = t.dir.path();
  c.corpus_dir = t.sc.dir.path();
  c.student = StudentPreset(preset, t.config);
  c.batch = 8;
  c.seq = 16;
  c.seed = 4;
  c.eval_batches = 2;
  return c;
}

TrainLoopConfig Loop(const std::string& out, int64_t steps) {
  TrainLoopConfig l;
  l.steps = steps;
  l.save_every = 4;
  l.eval_every = 0;
  l.log_every = 1;
  l.out_dir = out;
  l.optimizer.lr = 2e-3f;
  l.optimizer.warmup_steps = 2;
  return l;
}

std::vector<nlohmann::json> TrainLines(const std::string& log_path) {
  std::ifstream in(log_path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) lines.push_back(std::move(j));
  }
  return lines;
}

double MeanOf(const std::vector<nlohmann::json>& lines, size_t begin, size_t end, const char* key) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += lines[i][key].get<double>();
  return sum / static_cast<double>(end - begin);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StudentPresetTest, ShapesFollowTheTeacher) {
  EncoderConfig base;  // bert-base
  const EncoderConfig small = StudentPreset("small", base), tiny = StudentPreset("tiny", base);
  EXPECT_EQ(small.num_hidden_layers, 6);
  EXPECT_EQ(small.hidden_size, 768);
  EXPECT_EQ(tiny.num_hidden_layers, 4);
  EXPECT_EQ(tiny.hidden_size, 312);  // TinyBERT-4L-312D
  EXPECT_EQ(tiny.num_attention_heads, 12);
  EXPECT_EQ(tiny.intermediate_size, 1248);
  EXPECT_THROW(StudentPreset("huge", base), Error);
}

TEST(DistillTask, AStudentEqualToItsTeacherHasNothingToLearn) {
  TinyTeacher t;
  for (DistillMethod method : {DistillMethod::kDistilBert, DistillMethod::kTinyBert}) {
    DistillConfig c = TaskConfig(t, method, "small");
    c.student = t.config;
    c.student.hidden_dropout_prob = c.student.attention_probs_dropout_prob = 0.0f;
    c.init_from_teacher = 1;
    c.total_steps = 10;
    c.intermediate_fraction = 1.0f;
    auto task = MakeDistillTask(c);
    const Metrics e = task->Evaluate();
    ASSERT_EQ(e[0].first, "student_mlm_accuracy");
    EXPECT_EQ(e[1].first, "teacher_agreement");
    EXPECT_EQ(e[1].second, 1.0);
    EXPECT_EQ(e[0].second, e[2].second);  // same accuracy as the teacher
    const Metrics m = task->ForwardBackward(0);
    if (method == DistillMethod::kDistilBert) {
      EXPECT_EQ(m[1].first, "ce_loss");
      EXPECT_NEAR(m[1].second, 0.0, 1e-5);
      EXPECT_EQ(m[3].first, "cos_loss");
      EXPECT_NEAR(m[3].second, 0.0, 1e-5);
    } else {
      EXPECT_NEAR(m[0].second, 0.0, 1e-8) << "emb + hidden + attention MSE";
      EXPECT_EQ(task->Arenas().size(), 1u);  // equal widths: no projection
    }
  }
}

TEST(DistillTask, DistilBertLossFallsAndTheModelLoads) {
  TinyTeacher t;
  spade::testing::TempDir out;
  auto task = MakeDistillTask(TaskConfig(t, DistillMethod::kDistilBert, "small"));
  ASSERT_EQ(task->Arenas().size(), 1u);  // the teacher is frozen: only the student trains
  const std::string teacher_weights = ReadBytes(t.dir / "model.safetensors");
  const TrainResult r = RunTrainLoop(task.get(), Loop(out.path(), 40));
  const auto lines = TrainLines(out / "log.jsonl");
  ASSERT_EQ(lines.size(), 40u);
  EXPECT_LT(MeanOf(lines, 35, 40, "loss"), 0.8 * MeanOf(lines, 0, 5, "loss"));
  EXPECT_LT(MeanOf(lines, 35, 40, "mlm_loss"), MeanOf(lines, 0, 5, "mlm_loss"));
  ASSERT_EQ(r.final_eval.size(), 4u);
  for (const auto& [k, v] : r.final_eval) {
    if (k != "student_mlm_loss") {
      EXPECT_TRUE(v >= 0 && v <= 1) << k << " = " << v;
    }
  }
  EXPECT_EQ(ReadBytes(t.dir / "model.safetensors"), teacher_weights);
  // The output is a model directory `spade encode` loads: half the teacher's depth, its vocabulary.
  HeadsConfig h;
  h.mlm = true;
  LoadReport report;
  auto student = LoadModelDir(out.path(), h, {}, &report);
  EXPECT_EQ(student->config().num_hidden_layers, 2);
  EXPECT_TRUE(report.missing_heads.empty());
  EXPECT_EQ(ReadBytes(out / "vocab.txt"), ReadBytes(t.dir / "vocab.txt"));
}

TEST(DistillTask, TinyBertRunsIntermediateThenPredictionPhase) {
  TinyTeacher t;
  spade::testing::TempDir out;
  DistillConfig c = TaskConfig(t, DistillMethod::kTinyBert, "tiny");
  c.total_steps = 40;
  c.intermediate_fraction = 0.75f;
  auto task = MakeDistillTask(c);
  EXPECT_EQ(task->Arenas().size(), 2u);  // student + W_h (14 -> 32)
  RunTrainLoop(task.get(), Loop(out.path(), 40));
  const auto lines = TrainLines(out / "log.jsonl");
  ASSERT_EQ(lines.size(), 40u);
  for (size_t i = 0; i < 40; ++i) {
    const bool first = i < 30;
    EXPECT_EQ(lines[i]["phase"].get<double>(), first ? 1.0 : 2.0) << "step " << i + 1;
    EXPECT_EQ(lines[i]["pred_loss"].get<double>() > 0, !first) << "step " << i + 1;
    EXPECT_EQ(lines[i]["att_loss"].get<double>() > 0, first) << "step " << i + 1;
  }
  EXPECT_LT(MeanOf(lines, 25, 30, "loss"), 0.8 * MeanOf(lines, 0, 5, "loss"));
  EXPECT_LT(MeanOf(lines, 25, 30, "hidden_loss"), MeanOf(lines, 0, 5, "hidden_loss"));
  EXPECT_LT(MeanOf(lines, 25, 30, "att_loss"), MeanOf(lines, 0, 5, "att_loss"));
  EXPECT_LT(MeanOf(lines, 36, 40, "pred_loss"), MeanOf(lines, 30, 34, "pred_loss"));
  HeadsConfig h;
  h.mlm = true;
  EXPECT_EQ(LoadModelDir(out.path(), h)->config().hidden_size, 14);
}

// Forwards to a real task but throws at one step: a crash after a checkpoint.
class CrashAt : public TrainTask {
 public:
  CrashAt(std::unique_ptr<TrainTask> inner, int64_t step) : inner_(std::move(inner)), step_(step) {}
  std::vector<ParamArena*> Arenas() override { return inner_->Arenas(); }
  Metrics ForwardBackward(int64_t step) override {
    if (step == step_) throw std::runtime_error("simulated crash");
    return inner_->ForwardBackward(step);
  }
  Metrics Evaluate() override { return inner_->Evaluate(); }
  void SaveModel(const std::string& dir) const override { inner_->SaveModel(dir); }
  int64_t TokensPerStep() const override { return inner_->TokensPerStep(); }
  std::string Fingerprint() const override { return inner_->Fingerprint(); }

 private:
  std::unique_ptr<TrainTask> inner_;
  int64_t step_;
};

class DistillResume : public ::testing::TestWithParam<DistillMethod> {};

// 8 steps straight vs 4 steps, a crash, and --resume from the step-4 checkpoint: the same
// bytes (tinybert crosses its phase boundary at step 6 after the resume).
TEST_P(DistillResume, ResumedRunIsBitIdentical) {
  TinyTeacher t;
  spade::testing::TempDir out;
  DistillConfig c = TaskConfig(t, GetParam(), GetParam() == DistillMethod::kDistilBert ? "small" : "tiny");
  c.total_steps = 8;
  c.intermediate_fraction = 0.75f;
  RunTrainLoop(MakeDistillTask(c).get(), Loop(out / "straight", 8));
  CrashAt crashing(MakeDistillTask(c), /*step=*/5);
  EXPECT_THROW(RunTrainLoop(&crashing, Loop(out / "resumed", 8)), std::runtime_error);
  TrainLoopConfig again = Loop(out / "resumed", 8);
  again.resume = true;
  const TrainResult r = RunTrainLoop(MakeDistillTask(c).get(), again);
  EXPECT_EQ(r.resumed_from, 4);
  const std::string a = ReadBytes(out / "straight/model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == ReadBytes(out / "resumed/model.safetensors")) << "weights differ after resume";
  EXPECT_TRUE(ReadBytes(out / "straight/checkpoint.safetensors") == ReadBytes(out / "resumed/checkpoint.safetensors"));
  // A different method is a different configuration: refused.
  DistillConfig other = c;
  other.temperature = 3.0f;
  TrainLoopConfig foreign = Loop(out / "resumed", 8);
  foreign.resume = true;
  EXPECT_THROW(RunTrainLoop(MakeDistillTask(other).get(), foreign), Error);
}

INSTANTIATE_TEST_SUITE_P(Methods, DistillResume,
                         ::testing::Values(DistillMethod::kDistilBert, DistillMethod::kTinyBert),
                         [](const auto& info) { return DistillMethodName(info.param); });

// Plain-loop references for the task-level check below (no helper shared with distill.cc).
double RefMse(const Matrix& a, const Matrix& b) {
  double sum = 0;
  for (Eigen::Index i = 0; i < a.size(); ++i) sum += double(a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
  return sum / static_cast<double>(a.size());
}

std::map<std::string, Matrix> Intermediates(const Model& m, const Batch& b, const Outputs& out) {
  std::map<std::string, Matrix> named;
  m.encoder().VisitIntermediates(out.enc, [&](const std::string& name, const Matrix& v) { named[name] = v; });
  for (int i = 0; i < m.encoder().applied_layers(); ++i) {
    m.encoder().AttentionScores(b, out.enc, i, &named["layer" + std::to_string(i) + ".attn.scores"]);
  }
  return named;
}

// The losses a task reports at step 0 equal the ones computed here from the saved student
// and the teacher on the same batch, with the layer mapping written out by hand: TinyBERT's
// student layers 1, 2 learn from teacher layers 2, 4 (of 4); DistilBERT's KL at T = 2 and
// cosine over the non-padding tokens (MLM batches are packed full, so here every token; the
// row masks are tested on the losses above).
TEST(DistillTask, ReportedLossesMatchAnIndependentComputation) {
  TinyTeacher t;
  for (DistillMethod method : {DistillMethod::kTinyBert, DistillMethod::kDistilBert}) {
    DistillConfig c = TaskConfig(t, method, "small");
    c.student.hidden_dropout_prob = c.student.attention_probs_dropout_prob = 0.0f;
    c.total_steps = 8;
    auto task = MakeDistillTask(c);
    spade::testing::TempDir saved;
    task->SaveModel(saved.path());  // the initial student
    const Metrics m = task->ForwardBackward(0);
    HeadsConfig h;
    h.mlm = true;
    auto student = LoadModelDir(saved.path(), h);
    auto teacher = LoadModelDir(t.dir.path(), h);
    BatchOptions o;
    o.batch = c.batch;
    o.seq = c.seq;
    o.seed = c.seed;
    const PretrainBatch pb = MakeMlmBatch(t.sc.corpus, t.sc.tok, o, 0);
    Targets targets;
    targets.mlm_labels = pb.mlm_labels;
    StepOptions all_rows;
    all_rows.mlm_all_rows = true;
    Outputs so, to;
    student->Forward(pb.batch, targets, all_rows, &so);
    teacher->Forward(pb.batch, targets, all_rows, &to);
    auto S = Intermediates(*student, pb.batch, so), T = Intermediates(*teacher, pb.batch, to);
    std::map<std::string, double> got(m.begin(), m.end());
    if (method == DistillMethod::kTinyBert) {
      const double emb = RefMse(S["embeddings"], T["embeddings"]);
      const double hidden = RefMse(S["layer0.output"], T["layer1.output"]) + RefMse(S["layer1.output"], T["layer3.output"]);
      const double att = RefMse(S["layer0.attn.scores"], T["layer1.attn.scores"]) +
                         RefMse(S["layer1.attn.scores"], T["layer3.attn.scores"]);
      EXPECT_NEAR(got["emb_loss"], emb, 1e-5 * (1 + emb));
      EXPECT_NEAR(got["hidden_loss"], hidden, 1e-5 * (1 + hidden));
      EXPECT_NEAR(got["att_loss"], att, 1e-5 * (1 + att));
    } else {
      double kl = 0, cos = 0;
      int rows = 0;
      for (Eigen::Index r = 0; r < so.mlm_logits.rows(); ++r) {
        if (pb.batch.attention_mask[static_cast<size_t>(r)] == 0.0f) continue;
        ++rows;
        std::vector<double> ps, pt;
        double zs = 0, zt = 0;
        for (Eigen::Index v = 0; v < so.mlm_logits.cols(); ++v) {
          ps.push_back(std::exp(so.mlm_logits(r, v) / 2.0));
          pt.push_back(std::exp(to.mlm_logits(r, v) / 2.0));
          zs += ps.back();
          zt += pt.back();
        }
        for (size_t v = 0; v < ps.size(); ++v) kl += pt[v] / zt * std::log((pt[v] / zt) / (ps[v] / zs));
        const auto a = so.enc.hidden.row(r).cast<double>(), b = to.enc.hidden.row(r).cast<double>();
        cos += 1 - a.dot(b) / (a.norm() * b.norm());
      }
      ASSERT_GT(rows, 0);
      EXPECT_NEAR(got["ce_loss"], 4 * kl / rows, 1e-4);
      EXPECT_NEAR(got["cos_loss"], cos / rows, 1e-5);
      EXPECT_NEAR(got["mlm_loss"], so.mlm_loss, 1e-5);
      EXPECT_NEAR(got["loss"], 5 * got["ce_loss"] + 2 * got["mlm_loss"] + got["cos_loss"], 1e-4);
    }
  }
}

struct GradCase {
  DistillMethod method;
  int64_t step;  // tinybert: 0 = intermediate phase, 5 = prediction phase (boundary 4 of 8)
};

class DistillTaskGrad : public ::testing::TestWithParam<GradCase> {};

// The task's gradient (every arena: the student, and W_h for tinybert) is the derivative of
// the loss it reports: ForwardBackward(step) is a pure function of the step, so its "loss"
// can be differentiated by finite differences. Catches wiring mistakes between the losses
// and the backward pass (a weight applied to the loss but not its gradient, a gradient
// injected at the wrong layer).
TEST_P(DistillTaskGrad, MatchesFiniteDifferencesOfTheReportedLoss) {
  TinyTeacher t;
  DistillConfig c = TaskConfig(t, GetParam().method, GetParam().method == DistillMethod::kDistilBert ? "small" : "tiny");
  c.batch = 2;
  c.seq = 8;
  c.total_steps = 8;
  c.student.initializer_range = 0.2f;
  auto task = MakeDistillTask(c);
  const int64_t step = GetParam().step;
  const std::vector<ParamArena*> arenas = task->Arenas();
  for (ParamArena* a : arenas) a->ZeroGrad();
  task->ForwardBackward(step);
  std::vector<std::vector<float>> analytic;
  for (ParamArena* a : arenas) analytic.emplace_back(a->grads(), a->grads() + a->size());
  auto loss = [&] { return task->ForwardBackward(step).front().second; };
  for (size_t k = 0; k < arenas.size(); ++k) {
    ParamArena& a = *arenas[k];
    for (const ParamInfo& p : a.params()) {
      CheckGradient(p.name, a.values() + p.offset, analytic[k].data() + p.offset, size_t(p.rows) * p.cols, loss,
                    2e-3f, 4e-3, 4e-2, 3);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, DistillTaskGrad,
                         ::testing::Values(GradCase{DistillMethod::kDistilBert, 0},
                                           GradCase{DistillMethod::kTinyBert, 0},
                                           GradCase{DistillMethod::kTinyBert, 5}),
                         [](const auto& info) {
                           return DistillMethodName(info.param.method) + "Step" + std::to_string(info.param.step);
                         });

TEST(DistillTask, ConfigurationErrorsNameTheProblem) {
  TinyTeacher t;
  auto message = [](const DistillConfig& c) {
    try {
      MakeDistillTask(c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  DistillConfig c = TaskConfig(t, DistillMethod::kDistilBert, "tiny");
  EXPECT_NE(message(c).find("hidden_size 14 must equal the teacher's 32"), std::string::npos) << message(c);
  c = TaskConfig(t, DistillMethod::kTinyBert, "tiny");
  c.total_steps = 10;
  c.student.num_attention_heads = 1;
  EXPECT_NE(message(c).find("num_attention_heads 1 must equal the teacher's 2"), std::string::npos) << message(c);
  c = TaskConfig(t, DistillMethod::kDistilBert, "small");
  c.seq = 64;
  EXPECT_NE(message(c).find("--seq 64 exceeds"), std::string::npos) << message(c);
  c = TaskConfig(t, DistillMethod::kDistilBert, "small");
  c.teacher_dir = t.sc.dir.path();
  EXPECT_NE(message(c).find("config.json"), std::string::npos) << message(c);
}

}  // namespace
}  // namespace spade::encoder
