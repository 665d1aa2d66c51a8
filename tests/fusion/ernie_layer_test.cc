// ERNIE aggregator layer (fusion/ernie_layer.h): finite differences of every tensor and of
// both inputs with dropout on, the entity attention against the naive attention loop, and
// parity with the float64 PyTorch reference of tools/reference/ernie_fixture.py.
#include "fusion/ernie_layer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "encoder/safetensors.h"
#include "tests/encoder/gradcheck.h"

namespace spade::fusion {
namespace {

using encoder::Matrix;
using encoder::ParamArena;
using encoder::testing::CheckGradient;
using encoder::testing::Dot;
using encoder::testing::RandomMatrix;

const std::string kFixtures = std::string(SPADE_SOURCE_DIR) + "/tests/fusion/fixtures/";

ErnieLayerConfig SmallConfig(bool entity_attention) {
  ErnieLayerConfig c;
  c.hidden_size = 8;
  c.entity_size = 8;
  c.intermediate_size = 12;
  c.num_attention_heads = 2;
  c.num_entity_heads = 4;
  c.entity_attention = entity_attention;
  c.hidden_dropout_prob = 0.2f;
  c.attention_probs_dropout_prob = 0.2f;
  c.layer_norm_eps = 1e-5f;
  c.initializer_range = 0.5f;
  return c;
}

// Sequence 0: entities on tokens 0, 2, 3. Sequence 1: no entity at all (every entity key
// masked). Sequence 2: entities on 1, 2 and a padding token at the end.
ErnieMasks SmallMasks() {
  ErnieMasks m;
  m.batch = 3;
  m.seq = 4;
  m.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
  m.entity_mask = {1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0};
  return m;
}

bool AllFinite(const Matrix& m) { return m.array().isFinite().all(); }

class ErnieGrad : public ::testing::TestWithParam<bool> {};

TEST_P(ErnieGrad, EveryTensorAndBothInputsWithDropout) {
  const ErnieLayerConfig c = SmallConfig(GetParam());
  ParamArena arena;
  FusionStack stack(c, /*num_layers=*/2, &arena);
  arena.Allocate();
  stack.Init(3);
  // Non-trivial biases and LayerNorm affine terms, so their gradients are checked at a generic point.
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    if (arena.info(id).is_vector) arena.Value(id).array() += RandomMatrix(1, arena.info(id).cols, 50 + id, 0.1f).array();
  }
  const ErnieMasks m = SmallMasks();
  const int N = m.batch * m.seq;
  Matrix w = RandomMatrix(N, c.hidden_size, 1), e = RandomMatrix(N, c.entity_size, 2);
  const Matrix gw = RandomMatrix(N, c.hidden_size, 3), ge = RandomMatrix(N, c.entity_size, 4);
  FusionStackState st;
  auto loss = [&] {
    stack.Forward(m, w, e, /*train=*/true, /*seed=*/17, &st);
    return Dot(st.w, gw) + Dot(st.e, ge);
  };
  loss();
  ASSERT_TRUE(AllFinite(st.w) && AllFinite(st.e));
  arena.ZeroGrad();
  Matrix dw, de;
  stack.Backward(m, st, gw, ge, &dw, &de);
  ASSERT_TRUE(AllFinite(dw) && AllFinite(de));
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const encoder::ParamInfo& p = arena.info(id);
    ASSERT_TRUE(AllFinite(arena.Grad(id))) << p.name;
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 1e-2f,
                  3e-3, 3e-2, 12);
  }
  CheckGradient("dw", w.data(), dw.data(), w.size(), loss, 1e-2f, 3e-3, 3e-2, 60);
  CheckGradient("de", e.data(), de.data(), e.size(), loss, 1e-2f, 3e-3, 3e-2, 60);
  // A slot without an entity is never read, so its gradient is exactly zero.
  for (int n = 0; n < N; ++n) {
    if (m.entity_mask[static_cast<size_t>(n)] == 0.0f) {
      EXPECT_EQ(de.row(n).cwiseAbs().maxCoeff(), 0.0f) << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ErnieGrad, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("EntityAttention") : std::string("Mix");
                         });

TEST(ErnieLayer, EntityAttentionMatchesNaiveAndEmptySequenceIsFinite) {
  const ErnieLayerConfig c = SmallConfig(true);
  ParamArena arena;
  ErnieLayer layer(c, "fusion.layer.0.", &arena);
  arena.Allocate();
  layer.Init(5);
  const ErnieMasks m = SmallMasks();
  const int N = m.batch * m.seq;
  const Matrix w = RandomMatrix(N, c.hidden_size, 6), e = RandomMatrix(N, c.entity_size, 7);
  ErnieLayerCache cache;
  Matrix w_out, e_out;
  layer.Forward(m, w, e, /*train=*/false, 0, &cache, &w_out, &e_out);
  const encoder::AttentionShape se{m.batch, m.seq, c.num_entity_heads, c.entity_size / c.num_entity_heads, false};
  Matrix naive;
  encoder::AttentionForwardNaive(se, cache.ent.q, cache.ent.k, cache.ent.v, m.entity_mask, &naive);
  EXPECT_LT((naive - cache.ent.ctx).cwiseAbs().maxCoeff(), 1e-5f);
  // Sequence 1 has no entity: its entity context is zero, not NaN, and ea is zero.
  EXPECT_EQ(cache.ent.ctx.middleRows(4, 4).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(cache.ea.middleRows(4, 4).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_TRUE(AllFinite(w_out) && AllFinite(e_out));
}

TEST(ErnieLayer, RejectsBadShapesAndConfigs) {
  ErnieLayerConfig c = SmallConfig(true);
  ParamArena arena;
  ErnieLayer layer(c, "fusion.layer.0.", &arena);
  arena.Allocate();
  const ErnieMasks m = SmallMasks();
  ErnieLayerCache cache;
  Matrix w_out, e_out;
  try {
    layer.Forward(m, Matrix::Zero(12, 8), Matrix::Zero(12, 6), false, 0, &cache, &w_out, &e_out);
    ADD_FAILURE() << "expected a shape error";
  } catch (const encoder::Error& err) {
    EXPECT_NE(std::string(err.what()).find("entity states e"), std::string::npos) << err.what();
  }
  ErnieMasks short_mask = m;
  short_mask.entity_mask.pop_back();
  EXPECT_THROW(layer.Forward(short_mask, Matrix::Zero(12, 8), Matrix::Zero(12, 8), false, 0, &cache, &w_out, &e_out),
               encoder::Error);
  c.num_entity_heads = 3;  // does not divide De = 8
  ParamArena other;
  try {
    ErnieLayer bad(c, "x.", &other);
    ADD_FAILURE() << "expected a config error";
  } catch (const encoder::Error& err) {
    EXPECT_NE(std::string(err.what()).find("num_entity_heads = 3"), std::string::npos) << err.what();
  }
}

// max |a - b| / max |b| over one tensor.
double RelDiff(const Matrix& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-6;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a.data()[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

Matrix ReadMatrix(const encoder::SafetensorsFile& f, const std::string& name, int rows, int cols) {
  const encoder::TensorEntry* t = f.Find(name);
  if (!t) throw encoder::Error(encoder::ErrorCode::kNotFound, std::string(name).append(" missing in fixture"));
  const std::vector<float> v = f.ReadFloat(*t, {rows, cols});
  return Eigen::Map<const Matrix>(v.data(), rows, cols);
}

std::vector<float> ReadVector(const encoder::SafetensorsFile& f, const std::string& name) {
  const encoder::TensorEntry* t = f.Find(name);
  if (!t) throw encoder::Error(encoder::ErrorCode::kNotFound, std::string(name).append(" missing in fixture"));
  return f.ReadFloat(*t);
}

TEST(ErnieParity, TwoLayerStackMatchesPyTorch) {
  ErnieLayerConfig c;  // tools/reference/ernie_fixture.py
  c.hidden_size = 16;
  c.entity_size = 8;
  c.intermediate_size = 24;
  c.num_attention_heads = 2;
  c.num_entity_heads = 4;
  c.layer_norm_eps = 1e-12f;
  ParamArena arena;
  FusionStack stack(c, /*num_layers=*/2, &arena);
  arena.Allocate();
  const auto params = encoder::SafetensorsFile::Open(kFixtures + "ernie_layer/params.safetensors");
  const auto expected = encoder::SafetensorsFile::Open(kFixtures + "ernie_layer/expected.safetensors");
  std::set<std::string> unused;
  for (const auto& t : params.header().tensors) unused.insert(t.name);
  for (const encoder::ParamInfo& p : arena.params()) {
    const encoder::TensorEntry* t = params.Find(p.name);
    ASSERT_NE(t, nullptr) << p.name << " missing in params.safetensors";
    const std::vector<int64_t> shape = p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols};
    const std::vector<float> v = params.ReadFloat(*t, shape);
    std::copy(v.begin(), v.end(), arena.values() + p.offset);
    unused.erase(p.name);
  }
  EXPECT_TRUE(unused.empty()) << *unused.begin() << " is not a layer tensor";

  const int B = 3, T = 5, N = B * T;
  ErnieMasks m;
  m.batch = B;
  m.seq = T;
  m.attention_mask = ReadVector(expected, "input.attention_mask");
  m.entity_mask = ReadVector(expected, "input.entity_mask");
  const Matrix w = ReadMatrix(expected, "input.w", N, 16), e = ReadMatrix(expected, "input.e", N, 8);
  const Matrix dw_out = ReadMatrix(expected, "input.dw_out", N, 16), de_out = ReadMatrix(expected, "input.de_out", N, 8);
  FusionStackState st;
  stack.Forward(m, w, e, /*train=*/false, 0, &st);
  EXPECT_LT(RelDiff(st.w, ReadVector(expected, "output.w")), 1e-4);
  EXPECT_LT(RelDiff(st.e, ReadVector(expected, "output.e")), 1e-4);
  arena.ZeroGrad();
  Matrix dw, de;
  stack.Backward(m, st, dw_out, de_out, &dw, &de);
  EXPECT_LT(RelDiff(dw, ReadVector(expected, "grad.input.w")), 1e-4);
  EXPECT_LT(RelDiff(de, ReadVector(expected, "grad.input.e")), 1e-4);
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const encoder::ParamInfo& p = arena.info(id);
    const Matrix g = arena.Grad(id);
    const std::vector<float> ref = ReadVector(expected, std::string("grad.").append(p.name));
    if (p.name.size() > 8 && p.name.compare(p.name.size() - 8, 8, "key.bias") == 0) {
      // Softmax ignores a shift shared by all keys, so a key bias's exact gradient is 0: the
      // reference has ~1e-15, float32 leaves rounding ~1e-7 (the key weights' are ~10).
      float ref_max = 0.0f;
      for (float r : ref) ref_max = std::max(ref_max, std::abs(r));
      EXPECT_LT(ref_max, 1e-10f) << p.name;
      EXPECT_LT(g.cwiseAbs().maxCoeff(), 1e-5f) << p.name;
      continue;
    }
    EXPECT_LT(RelDiff(g, ref), 1e-4) << p.name;
  }
}

}  // namespace
}  // namespace spade::fusion
