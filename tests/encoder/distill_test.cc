// Distillation (encoder/distill.h, distill_task.h): every loss against values worked out by
// hand here and against PyTorch (tools/reference/make_fixtures.py -> fixtures/distill/),
// finite differences of every loss and of the projection, gradients injected into the
// encoder at intermediates (Encoder::Backward's EncoderGradients), the layer mapping, the
// student initialisation, and a tiny teacher distilled end to end (loss falls, resume is
// bit-identical).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <cstdlib>

#include "encoder/attention.h"
#include "encoder/distill.h"
#include "encoder/safetensors.h"
#include "encoder/transformer.h"
#include "tests/encoder/gradcheck.h"

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
  EncoderGradients g = RandomInjection(e, b, 100);
  if (const char* only = std::getenv("ONLY")) {
    std::string o = only;
    if (o != "emb") g.embeddings.setZero();
    if (o != "proj" && g.embeddings_projected.size()) g.embeddings_projected.setZero();
    for (auto& m : g.layer_outputs) if (o != "out") m.setZero();
    for (auto& m : g.attn_scores) if (o != "scores") m.setZero();
    for (auto& m : g.attn_probs) if (o != "probs") m.setZero();
  }
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
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 1e-2f,
                  3e-3, 3e-2, 8);
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

}  // namespace
}  // namespace spade::encoder
