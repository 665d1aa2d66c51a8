// Finite-difference gradient checks for every layer and loss of encoder/ (tier 1 of the
// three correctness oracles; see STYLE.md). Each check uses loss = <G, layer(x)> with a
// random upstream gradient G, so every output element contributes.
#include <gtest/gtest.h>

#include "encoder/attention.h"
#include "encoder/layers.h"
#include "tests/encoder/gradcheck.h"

namespace spade::encoder {
namespace {

using testing::CheckGradient;
using testing::Dot;
using testing::RandomMatrix;

void FillArena(ParamArena* a, uint64_t seed, float scale) {
  for (int id = 0; id < static_cast<int>(a->params().size()); ++id) {
    a->Value(id) = RandomMatrix(a->info(id).rows, a->info(id).cols, seed + static_cast<uint64_t>(id), scale);
  }
}

TEST(GradCheck, Linear) {
  ParamArena a;
  Linear l = AddLinear(a, "fc", 5, 3);
  a.Allocate();
  FillArena(&a, 1, 0.5f);
  Matrix x = RandomMatrix(4, 5, 2), g = RandomMatrix(4, 3, 3), y, dx;
  auto loss = [&] {
    LinearForward(a, l, x, &y);
    return Dot(y, g);
  };
  loss();
  LinearBackward(a, l, x, g, &dx);
  CheckGradient("dx", x.data(), dx.data(), x.size(), loss);
  CheckGradient("dW", a.Value(l.weight).data(), a.Grad(l.weight).data(), 15, loss);
  CheckGradient("db", a.Value(l.bias).data(), a.Grad(l.bias).data(), 3, loss);
}

TEST(GradCheck, LinearRejectsWrongInputWidth) {
  ParamArena a;
  Linear l = AddLinear(a, "encoder.layer.3.attention.self.query", 4, 4);
  a.Allocate();
  Matrix x(2, 3), y;
  try {
    LinearForward(a, l, x, &y);
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layer.3.attention.self.query.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("expected shape (2, 4), got (2, 3)"), std::string::npos) << e.what();
  }
}

TEST(GradCheck, LayerNorm) {
  ParamArena a;
  LayerNorm ln = AddLayerNorm(a, "ln", 6, 1e-5f);
  a.Allocate();
  FillArena(&a, 4, 1.0f);
  Matrix x = RandomMatrix(3, 6, 5), g = RandomMatrix(3, 6, 6), y, dx;
  LayerNormCache c;
  auto loss = [&] {
    LayerNormForward(a, ln, x, &y, &c);
    return Dot(y, g);
  };
  loss();
  LayerNormBackward(a, ln, g, c, &dx);
  CheckGradient("dx", x.data(), dx.data(), x.size(), loss, 1e-2f);
  CheckGradient("dgamma", a.Value(ln.gamma).data(), a.Grad(ln.gamma).data(), 6, loss);
  CheckGradient("dbeta", a.Value(ln.beta).data(), a.Grad(ln.beta).data(), 6, loss);
}

class ActivationGrad : public ::testing::TestWithParam<Activation> {};

TEST_P(ActivationGrad, MatchesFiniteDifferences) {
  Matrix x = RandomMatrix(4, 7, 7, 2.0f), g = RandomMatrix(4, 7, 8), y, dx;
  // Keep ReLU away from its kink.
  if (GetParam() == Activation::kRelu) x = x.unaryExpr([](float v) { return std::abs(v) < 0.05f ? 0.5f : v; });
  auto loss = [&] {
    ActivationForward(GetParam(), x, &y);
    return Dot(y, g);
  };
  ActivationBackward(GetParam(), x, g, &dx);
  CheckGradient(ActivationName(GetParam()), x.data(), dx.data(), x.size(), loss, 1e-3f);
}

INSTANTIATE_TEST_SUITE_P(All, ActivationGrad,
                         ::testing::Values(Activation::kGelu, Activation::kGeluNew, Activation::kRelu,
                                           Activation::kTanh),
                         [](const ::testing::TestParamInfo<Activation>& i) { return ActivationName(i.param); });

TEST(GradCheck, GeluMatchesKnownValues) {
  Matrix x(1, 3), y;
  x << -1.0f, 0.0f, 2.0f;
  ActivationForward(Activation::kGelu, x, &y);
  EXPECT_NEAR(y(0, 0), -0.15865525f, 1e-6);
  EXPECT_NEAR(y(0, 1), 0.0f, 1e-7);
  EXPECT_NEAR(y(0, 2), 1.9544997f, 1e-6);
  ActivationForward(Activation::kGeluNew, x, &y);
  EXPECT_NEAR(y(0, 0), -0.15880801f, 1e-6);
  EXPECT_NEAR(y(0, 2), 1.9545977f, 1e-6);
}

TEST(GradCheck, Embedding) {
  ParamArena a;
  int table = a.AddMatrix("emb", 5, 3);
  a.Allocate();
  FillArena(&a, 9, 1.0f);
  std::vector<int32_t> ids = {1, 4, 1, 0};
  Matrix g = RandomMatrix(4, 3, 10), y;
  auto loss = [&] {
    EmbeddingForward(a, table, ids, &y);
    return Dot(y, g);
  };
  loss();
  EmbeddingBackward(a, table, ids, g);
  CheckGradient("dtable", a.Value(table).data(), a.Grad(table).data(), 15, loss);
  ids[2] = 5;
  EXPECT_THROW(loss(), Error);
}

struct AttnCase {
  bool causal;
  bool padded;
  float dropout;
};

class AttentionGrad : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionGrad, MatchesFiniteDifferences) {
  const AttnCase p = GetParam();
  AttentionShape s{2, 5, 2, 3, p.causal};
  const int N = 10, H = 6;
  Matrix q = RandomMatrix(N, H, 11), k = RandomMatrix(N, H, 12), v = RandomMatrix(N, H, 13);
  Matrix g = RandomMatrix(N, H, 14), ctx, dq, dk, dv;
  std::vector<float> mask;
  if (p.padded) mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  AttentionCache cache;
  auto loss = [&] {
    AttentionForward(s, q, k, v, mask, p.dropout, p.dropout > 0, 42, &cache, &ctx);
    return Dot(ctx, g);
  };
  loss();
  AttentionBackward(s, q, k, v, cache, g, &dq, &dk, &dv);
  CheckGradient("dq", q.data(), dq.data(), q.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
  CheckGradient("dk", k.data(), dk.data(), k.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
  CheckGradient("dv", v.data(), dv.data(), v.size(), loss, 1e-2f, 2e-3, 2e-2, 60);
}

INSTANTIATE_TEST_SUITE_P(Masks, AttentionGrad,
                         ::testing::Values(AttnCase{false, false, 0.0f}, AttnCase{false, true, 0.0f},
                                           AttnCase{true, false, 0.0f}, AttnCase{true, true, 0.0f},
                                           AttnCase{false, true, 0.3f}),
                         [](const ::testing::TestParamInfo<AttnCase>& i) {
                           return std::string(i.param.causal ? "Causal" : "Full") +
                                  (i.param.padded ? "Padded" : "Dense") + (i.param.dropout > 0 ? "Dropout" : "");
                         });

TEST(Attention, BatchedMatchesNaiveReference) {
  for (bool causal : {false, true}) {
    AttentionShape s{3, 7, 4, 5, causal};
    Matrix q = RandomMatrix(21, 20, 21), k = RandomMatrix(21, 20, 22), v = RandomMatrix(21, 20, 23), fast, slow;
    std::vector<float> mask(21, 1.0f);
    mask[6] = mask[5] = mask[13] = 0.0f;
    AttentionCache cache;
    AttentionForward(s, q, k, v, mask, 0.0f, false, 0, &cache, &fast);
    AttentionForwardNaive(s, q, k, v, mask, &slow);
    EXPECT_LT((fast - slow).cwiseAbs().maxCoeff(), 1e-5f) << "causal=" << causal;
  }
}

TEST(Attention, PaddedKeysGetZeroProbability) {
  AttentionShape s{1, 4, 1, 2, false};
  Matrix q = RandomMatrix(4, 2, 1), k = RandomMatrix(4, 2, 2), v = RandomMatrix(4, 2, 3), ctx;
  AttentionCache cache;
  AttentionForward(s, q, k, v, {1, 1, 0, 0}, 0.0f, false, 0, &cache, &ctx);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cache.probs(i, 2), 0.0f);
    EXPECT_EQ(cache.probs(i, 3), 0.0f);
    EXPECT_NEAR(cache.probs.row(i).sum(), 1.0f, 1e-6);
  }
}

TEST(Dropout, SeededMaskIsDeterministicAndScaled) {
  Matrix x = Matrix::Ones(50, 40), y = x;
  DropoutCache c1, c2;
  DropoutForward(0.25f, true, 9, &x, &c1);
  DropoutForward(0.25f, true, 9, &y, &c2);
  EXPECT_EQ(x, y);
  const float kept = static_cast<float>((x.array() > 0).count()) / static_cast<float>(x.size());
  EXPECT_NEAR(kept, 0.75f, 0.03f);
  EXPECT_NEAR(x.maxCoeff(), 1.0f / 0.75f, 1e-6);
  Matrix z = Matrix::Ones(2, 2);
  DropoutCache c3;
  DropoutForward(0.25f, /*train=*/false, 9, &z, &c3);
  EXPECT_EQ(z, Matrix::Ones(2, 2));
}

TEST(GradCheck, SoftmaxCrossEntropy) {
  Matrix logits = RandomMatrix(5, 4, 31, 2.0f), d, unused;
  std::vector<int32_t> labels = {0, 3, -100, 2, 1};
  auto loss = [&] { return static_cast<double>(SoftmaxCrossEntropy(logits, labels, &unused)); };
  const float l = SoftmaxCrossEntropy(logits, labels, &d);
  EXPECT_GT(l, 0.0f);
  EXPECT_EQ(d.row(2).cwiseAbs().sum(), 0.0f);
  CheckGradient("dlogits", logits.data(), d.data(), logits.size(), loss, 1e-2f);
  Matrix two(1, 2);
  two << 0.0f, 0.0f;
  EXPECT_NEAR(SoftmaxCrossEntropy(two, {1}, &d), std::log(2.0f), 1e-6);
  EXPECT_THROW(SoftmaxCrossEntropy(two, {2}, &d), Error);
}

TEST(GradCheck, SigmoidCrossEntropy) {
  Matrix logits = RandomMatrix(6, 1, 41, 3.0f), d, unused;
  std::vector<float> t = {1, 0, 1, 1, 0, 0}, w = {1, 1, 1, 0, 1, 1};
  auto loss = [&] { return static_cast<double>(SigmoidCrossEntropy(logits, t, w, &unused)); };
  SigmoidCrossEntropy(logits, t, w, &d);
  EXPECT_EQ(d(3, 0), 0.0f);
  CheckGradient("dlogits", logits.data(), d.data(), logits.size(), loss, 1e-2f);
}

}  // namespace
}  // namespace spade::encoder
